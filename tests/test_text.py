from geo.text import normalize_arabic, normalize_chars, normalize_name, proclitic_splits, tokenize


def test_alef_hamza_forms_fold_to_bare_alef():
    assert normalize_name("إجدابيا") == normalize_name("اجدابيا") == normalize_name("أجدابيا")
    assert normalize_name("آمن") == "امن"


def test_ta_marbuta_and_alef_maqsura():
    # news writes مصراتة and مصراته, بنغازى and بنغازي interchangeably
    assert normalize_name("مصراتة") == normalize_name("مصراته")
    assert normalize_name("بنغازى") == normalize_name("بنغازي")


def test_diacritics_and_tatweel_vanish_but_offsets_survive():
    text = "قصف بِطَرَابُلُس اليوم"
    toks = tokenize(text)
    form, start, end = toks[1]
    assert form == "بطرابلس"
    assert text[start:end] == "بِطَرَابُلُس"


def test_arabic_indic_digits_become_ascii():
    assert normalize_chars("٢٠١٩ ۱۲") == "2019 12"


def test_quotes_and_guillemets_separate_words():
    toks = [t[0] for t in tokenize("«سوق الخميس» و\"الرقيعات\"")]
    assert toks == ["سوق", "الخميس", "و", "الرقيعات"]


def test_normalize_arabic_offset_map_points_back_to_original():
    text = "الـجـفـرة، بِنغازي"
    norm = normalize_arabic(text)
    assert norm.text.startswith("الجفره")
    i = norm.text.index("بنغازي")
    start, end = norm.to_original(i, i + len("بنغازي"))
    assert text[start:end] == "بِنغازي"


def test_article_on_a_number_joins_the_number():
    text = "منطقة جسر الـ27 غرب طرابلس"
    toks = tokenize(text)
    assert [t[0] for t in toks][:3] == ["منطقه", "جسر", "27"]
    assert text[toks[2][1]:toks[2][2]] == "الـ27"


def test_every_token_span_is_a_slice_of_the_original():
    text = "وقالت مصادر لـ«سكاي نيوز عربية» إن المحتجين اقتحموا المقر في قاعدة أبوستة."
    for form, start, end in tokenize(text):
        assert normalize_name(text[start:end]) == form


def test_proclitic_splits_keep_the_article_of_the_stem():
    stems = [s for _, s in proclitic_splits("بالسودان")]
    assert "السودان" in stems and "سودان" not in stems and "ودان" not in stems


def test_proclitic_combinations():
    assert "الزاويه" in [s for _, s in proclitic_splits(normalize_name("للزاوية"))]
    assert "الجفره" in [s for _, s in proclitic_splits(normalize_name("فالجفرة"))]
    assert "بنغازي" in [s for _, s in proclitic_splits("وبنغازي")]
    assert "طرابلس" in [s for _, s in proclitic_splits("وبطرابلس")]
    # the unsplit reading always comes first: ودان is a town, not و + دان
    assert proclitic_splits("ودان")[0] == (0, "ودان")
