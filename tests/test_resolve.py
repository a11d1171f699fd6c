"""Place recognition and disambiguation on sentences written for the case at hand.

Each case says why its answer is right; the places' coordinates are checked against the
gazetteer's sources in test_gazetteer.py, so here names and kinds are enough."""

import pytest


def places(resolver, text):
    return [(m.text, m.place.name_en, m.place.kind, m.place.in_libya) for m in resolver.resolve(text)]


def names(resolver, text):
    return [m.place.name_en for m in resolver.resolve(text)]


@pytest.mark.parametrize("surface,expected", [
    ("بطرابلس", "Tripoli"), ("وبنغازي", "Benghazi"), ("للزاوية", "Zawiya"),
    ("فالجفرة", "Jufra"), ("بمصراتة", "Misrata"), ("والزنتان", "Zintan"), ("لسبها", "Sabha"),
    ("وبسرت", "Sirte"),
])
def test_every_clitic_form_resolves(resolver, surface, expected):
    found = resolver.resolve(f"وقعت اشتباكات {surface} مساء أمس")
    assert found, surface
    m = found[0]
    assert expected.lower() in (m.place.name_en + " " + " ".join(m.place.variants_en)).lower()
    assert m.text == surface  # the span includes the proclitics


def test_name_inside_a_longer_word_is_not_that_place(resolver):
    # بالسودان is Sudan (ب + السودان), never the Libyan town ودان hidden inside the word
    found = places(resolver, "وصل مقاتلون من بالسودان إلى الكفرة")
    assert not any(n == "Waddan" for _, n, _, _ in found)
    # المرجان (coral) is not المرج (Marj)
    assert not any("Marj" in n for n in names(resolver, "افتتح فندق المرجان على الساحل"))


def test_sudan_in_a_clitic_form_is_abroad(resolver):
    found = resolver.resolve("عاد مرتزقة بالسودان إلى بلادهم")
    assert found and not found[0].place.in_libya


def test_nisba_and_family_names_are_not_places(resolver):
    # the mufti al-Sadiq al-Ghariani is a person, not the city of Gharyan
    assert not any("Gharyan" in n for n in names(resolver, "دعا المفتي الصادق الغرياني إلى التهدئة"))
    # a surname المصراتي is not Misrata
    assert not any("Misrata" in n for n in names(resolver, "قال المتحدث محمد المصراتي إن الوضع هادئ"))
    assert names(resolver, "قال الجيش الليبي والجانب المصري") == []


def test_misspelt_tripoli_is_found_by_fuzzy_match(resolver):
    found = resolver.resolve("وشهدت طرابس اشتباكات بين ميليشيات")
    assert [m.place.name_en for m in found] == ["Tripoli"]
    assert found[0].how == "fuzzy"


def test_run_together_united_states_is_abroad(resolver):
    found = resolver.resolve("التي صنفتها الولاياتالمتحدة جماعة إرهابية")
    assert len(found) == 1 and not found[0].place.in_libya


def test_bridge_27_spellings_are_one_place(resolver):
    ids = set()
    for s in ("منطقة جسر الـ27 غرب طرابلس", "على حاجز جسر 27 العسكري", "قرب جسر 27"):
        found = [m for m in resolver.resolve(s) if m.place.kind in ("checkpoint", "bridge")]
        assert found, s
        ids.add(found[0].place.id)
    assert len(ids) == 1


def test_weekday_is_not_a_place_but_souq_al_khamis_is(resolver):
    assert names(resolver, "شهدت المدينة اليوم الجمعة هدوءا حذرا") == []
    assert names(resolver, "التقى السراج الخميس وفدا أمميا") == []
    found = resolver.resolve("أعلنت قوات الجيش سيطرتها على سوق الخميس جنوب طرابلس")
    souq = [m for m in found if m.text == "سوق الخميس"]
    # DESIGN.md: Souq al-Khamis south of Tripoli (Imsihil) — the one near Khoms is ~100 km east
    assert souq and souq[0].place.lon < 13.5


def test_souq_al_khamis_near_khoms_by_context(resolver):
    found = resolver.resolve("اندلعت اشتباكات في منطقة سوق الخميس قرب مدينة الخمس شرق طرابلس")
    souq = [m for m in found if m.text == "سوق الخميس"]
    assert souq and souq[0].place.lon > 13.8


def test_capital_means_tripoli_but_not_the_egyptian_capital(resolver):
    assert names(resolver, "قطعت الطريق الرابط بين العاصمة والمطار")[:1] == ["Tripoli"]
    assert names(resolver, "شهدت العاصمة الليبية اشتباكات") == ["Tripoli"]
    found = places(resolver, "عقد الوزيران مؤتمرا في العاصمة المصرية القاهرة")
    assert all(not in_libya for _, _, _, in_libya in found)
    assert any(n == "Cairo" for _, n, _, _ in found)


def test_egyptian_places_are_abroad(resolver):
    found = places(resolver, "منفذو هجوم المنيا تدربوا في درنة بحسب القاهرة")
    by_text = {t: (n, libya) for t, n, _, libya in found}
    assert by_text["المنيا"][1] is False
    assert by_text["القاهرة"][1] is False
    assert by_text["درنة"] == ("Derna", True) or by_text["درنة"][0].startswith("Darn")


def test_jufra_airbase_area_and_district_are_different_features(resolver):
    base = resolver.resolve("السيطرة الكاملة على قاعدة الجفرة الجوية")
    assert base[0].text.startswith("قاعدة الجفرة") and base[0].place.kind == "airbase"
    area = resolver.resolve("قصف مواقع في منطقة الجفرة")
    assert area[0].place.kind == "district"


def test_hun_needs_context(resolver):
    # هون is also an ordinary word; listed with الجفرة it is the town
    assert any("Hun" in n for n in names(resolver, "في مناطق الجفرة وهون وسكنة"))
    assert names(resolver, "هون عليك يا أخي") == []


def test_libya_itself_is_a_place(resolver):
    found = resolver.resolve("دخلت الأزمة الأمنية في ليبيا منحى خطيرا")
    assert [(m.text, m.place.kind) for m in found] == [("ليبيا", "country")]


def test_place_inside_an_organisation_name_still_names_it(resolver):
    # DESIGN.md: "قوة حماية طرابلس" names Tripoli
    assert "Tripoli" in names(resolver, "وقالت قوة حماية طرابلس إنها شاركت")


def test_small_village_that_is_a_common_word_needs_a_cue(resolver):
    # المدينة is the name of an OSM hamlet but here it is "the city"
    assert names(resolver, "الميليشيات التي حولت المدينة إلى إقطاعيات") == []


def test_latin_place_names_in_mixed_text(resolver):
    found = resolver.resolve("Clashes in Tripoli (Libya Observer) قرب مصراتة")
    got = [m.place.name_en for m in found]
    assert "Tripoli" in got and "Misrata" in got


def test_offsets_point_into_the_original_text(resolver):
    text = "قَصَفَت الطائرات «بِنْغازِي» وَبِطَرابُلُس فجر الجمعة"
    for m in resolver.resolve(text):
        assert text[m.start:m.end] == m.text
    assert [m.place.name_en for m in resolver.resolve(text)] == ["Benghazi", "Tripoli"]


def test_names_wrapped_over_a_line_break(resolver):
    # seed 003 is wrapped at a fixed width: "غرب\nليبيا" is one name; a blank line ends a name
    found = resolver.resolve("قواته المتمركزة في غرب\nليبيا بالتجهيز")
    assert [m.place.kind for m in found] == ["region"] and found[0].text == "غرب\nليبيا"
    assert [m.place.kind for m in resolver.resolve("انتشرت في غرب\n\nليبيا بلد")] == ["country"]


def test_border_crossing_names_carry_their_cue(resolver):
    found = resolver.resolve("وأغلقت السلطات معبر رأس اجدير الحدودي مع تونس")
    assert found[0].place.kind == "checkpoint"


@pytest.mark.parametrize("text,surface,expected_id", [
    # the 2013 jailbreak: "من" before the name is the place evidence a facility needs
    ("فر أكثر من ألف سجين من سجن الكويفية في ضواحي بنغازي", "سجن الكويفية",
     "marsad:kuwayfiya-prison"),
    # "بلدة" is a town cue; هراوة is also the word for "club", so it needs one
    ("سيطر مسلحو داعش على بلدة هراوة شرق سرت", "هراوة", "marsad:harawa"),
    # the Radaa prison inside the Mitiga airbase, not the airport itself
    ("نقل المحتجزون إلى سجن معيتيقة في طرابلس", "سجن معيتيقة", "marsad:mitiga-prison"),
    ("اندلع تمرد داخل سجن الرويمي بمنطقة عين زارة", "سجن الرويمي", "marsad:ruwaymi-prison"),
])
def test_conflict_facilities_and_towns_added_2026_11_25(resolver, text, surface, expected_id):
    found = {m.text: m.place.id for m in resolver.resolve(text)}
    assert found.get(surface) == expected_id, found


def test_a_facility_name_that_starts_with_its_own_head_noun_needs_no_other_cue(resolver):
    # "سجن الكويفية", "مجمع باب العزيزية": the head noun is the cue, as in "مطار معيتيقة"
    found = {m.text: m.place.id for m in resolver.resolve("اقتحم مسلحون سجن الكويفية في بنغازي")}
    assert found.get("سجن الكويفية") == "marsad:kuwayfiya-prison"
    found = {m.text: m.place.id for m in resolver.resolve(
        "قصفت طائرات الناتو مجمع باب العزيزية فجر اليوم")}
    assert found.get("مجمع باب العزيزية") == "marsad:bab-al-aziziya-compound", found


def test_an_everyday_word_is_no_misspelt_place(resolver):
    # "بالتزامن" (at the same time) is one letter from التضامن, "السوداء" (black) one from
    # السودان: correctly spelled frequent words are never fuzzy matches (fuzzy_blockers_ar.txt)
    for sentence in ("وجاء ذلك بالتزامن مع وصول تعزيزات إلى المنطقة",
                     "ورفع المسلحون الراية السوداء فوق المبنى"):
        assert [m for m in resolver.resolve(sentence) if m.how == "fuzzy"] == [], sentence
    # a real misspelling still is one
    assert [m.how for m in resolver.resolve("وشهدت طرابس اشتباكات")] == ["fuzzy"]
