"""The factions lexicon (geo/data/factions.json) and the actor finder (geo/factions.py)."""

import json
import re
from pathlib import Path

import pytest

from geo.factions import DEFAULT_PATH, ActorMention, load_factions

ROOT = Path(__file__).resolve().parent.parent

# The ids DESIGN.md promises to other tools; stored events refer to them.
DESIGN_IDS = [
    "Gaddafi", "NTC", "NATO", "GNC", "GNC_Salvation", "LibyaShield", "LROR", "HoR", "LNA", "GNA",
    "GNS", "GNU", "ISIS", "AnsarAlSharia", "BRSC", "DMSC", "BDB", "PFG", "ThirdForce", "Radaa",
    "Kaniyat", "Brigade444", "Misrata", "Zintan", "Mashashiya", "Tebu", "Tuareg", "ChadianRebels",
    "Egypt", "Turkey", "UAE", "Wagner", "civilians", "protesters",
]


@pytest.fixture(scope="module")
def factions():
    return load_factions()


def actors(factions, text, year):
    return [m.faction_id for m in factions.find_actors(text, year)]


def only(factions, text, year) -> ActorMention:
    found = factions.find_actors(text, year)
    assert len(found) == 1, found
    return found[0]


# -- the data file ---------------------------------------------------------------------------

def test_the_shipped_file_validates(factions):
    # load_factions raises on any invalid entry, so loading is the check; the file must also
    # document its own schema.
    assert len(factions) >= len(DESIGN_IDS)
    assert "_schema" in json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))


def test_every_design_id_exists(factions):
    # The ids are a contract (DESIGN.md lists them); a rename would orphan stored events.
    missing = [i for i in DESIGN_IDS if i not in factions.ids]
    assert not missing


def test_get_and_ids(factions):
    lna = factions.get("LNA")
    assert lna is not None and lna.kind == "armed_group" and lna.name_ar
    assert factions.get("NoSuchFaction") is None
    assert len(set(factions.ids)) == len(factions.ids)


# -- matching by year ------------------------------------------------------------------------

def test_haftar_forces_2019_are_lna(factions):
    # Haftar's Tripoli offensive, April 2019: "قوات حفتر" is the LNA by definition.
    m = only(factions, "تقدمت قوات حفتر نحو العاصمة", 2019)
    assert (m.faction_id, m.text, m.confidence) == ("LNA", "قوات حفتر", 1.0)


def test_sarraj_2017_is_gna(factions):
    # Fayez al-Sarraj headed the GNA's Presidential Council from March 2016 to March 2021.
    m = only(factions, "قال فايز السراج إن", 2017)
    assert (m.faction_id, m.text) == ("GNA", "فايز السراج")
    # the hamza spelling فائز normalises to the same alias
    assert only(factions, "فائز السرّاج", 2017).faction_id == "GNA"


def test_national_army_2019_is_lna_but_not_certain(factions):
    # From Operation Dignity (May 2014) Haftar's forces call themselves الجيش الوطني, but the
    # phrase is generic, so it never reaches full confidence.
    m = only(factions, "أعلن الجيش الوطني سيطرته على المطار", 2019)
    assert m.faction_id == "LNA" and m.confidence < 1


def test_national_army_2011_is_not_lna(factions):
    # Haftar's LNA did not exist in 2011; some outlets used the phrase for the rebel army.
    assert "LNA" not in actors(factions, "تقدم الجيش الوطني نحو البريقة", 2011)
    assert "LNA" not in actors(factions, "قوات الجيش الوطني الليبي", 2011)


def test_longest_alias_wins(factions):
    # الجيش الوطني الليبي is one mention, not الجيش الوطني + a stray الليبي.
    m = only(factions, "قال الجيش الوطني الليبي في بيان", 2019)
    assert m.text == "الجيش الوطني الليبي" and m.alias == "الجيش الوطني الليبي"


def test_regular_army_2014_is_gnc(factions):
    # May 2014: "the regular army" is the GNC government's army, which denied taking part in
    # Haftar's Benghazi attack (seed 004: ونفى الجيش النظامي أي مشاركة له).
    assert only(factions, "ونفى الجيش النظامي أي مشاركة له", 2014).faction_id == "GNC"
    assert only(factions, "بيان رئاسة أركان الجيش", 2014).faction_id == "GNC"


def test_bashagha_changes_camp(factions):
    # Bashagha was the GNA's interior minister (Oct 2018 - Mar 2021) and the HoR-appointed
    # GNS prime minister (Mar 2022 - May 2023).
    assert only(factions, "قال باشاغا إن", 2022).faction_id == "GNS"
    assert only(factions, "قال باشاغا إن", 2019).faction_id == "GNA"


def test_governments_by_year(factions):
    # Each name belongs to the government of its years (DESIGN.md's faction list).
    assert actors(factions, "حكومة الإنقاذ", 2016) == ["GNC_Salvation"]
    assert actors(factions, "حكومة الوحدة الوطنية", 2022) == ["GNU"]
    assert actors(factions, "مجلس النواب", 2015) == ["HoR"]
    assert actors(factions, "المؤتمر الوطني العام", 2013) == ["GNC"]
    # the GNU did not exist before 2021
    assert "GNU" not in actors(factions, "حكومة الوحدة الوطنية", 2016)
    # Dbeibah's name only means the GNU from 2021
    assert actors(factions, "الدبيبة", 2015) == []


def test_unknown_year_uses_every_alias_at_lower_confidence(factions):
    # Without a year any alias may apply, but less surely (x 0.8).
    m = only(factions, "قوات حفتر", None)
    assert m.faction_id == "LNA" and m.confidence == pytest.approx(0.8)


# -- word forms and offsets ------------------------------------------------------------------

@pytest.mark.parametrize("text, year, expected_text, faction", [
    # ل + name: "a spokesman for Haftar"
    ("قال متحدث باسم القوات الموالية لحفتر", 2019, "لحفتر", "LNA"),
    # و on the first word of a two-word alias
    ("تقدمت وقوات الوفاق", 2019, "وقوات الوفاق", "GNA"),
    # ب + article: بالمجلس الرئاسي is المجلس الرئاسي (2016-2020 the GNA's council)
    ("اجتمع الوزير بالمجلس الرئاسي", 2017, "بالمجلس الرئاسي", "GNA"),
    # لل = ل + ال
    ("مقاتلون تابعون للقيادة العامة", 2019, "للقيادة العامة", "LNA"),
    # ل + a stem that itself starts with ل: للواء = ل + اللواء (the article's lam merges)
    ("قوات موالية للواء المتقاعد خليفة حفتر", 2019, "للواء المتقاعد خليفة حفتر", "LNA"),
])
def test_clitic_forms(factions, text, year, expected_text, faction):
    m = only(factions, text, year)
    assert (m.text, m.faction_id) == (expected_text, faction)


def test_offsets_map_back_to_the_original(factions):
    # Offsets are into the original text, with diacritics, tatweel and quotes left in place.
    text = ("أعلنت قوات حكومة الوِفاق، وقالت «قوات فجر ليبيا» إن طيران الـناتو "
            "وقـوات حفتر والمدنيين في اللواء 444")
    found = factions.find_actors(text, 2019)
    assert found
    for m in found:
        assert text[m.start:m.end] == m.text
    # whole-file check on a real seed article (2014)
    seed = next((ROOT / "seeds").glob("004_*.txt")).read_text(encoding="utf-8")
    found = factions.find_actors(seed, 2014)
    assert len(found) > 5
    assert all(seed[m.start:m.end] == m.text for m in found)
    assert [m.start for m in found] == sorted(m.start for m in found)


def test_not_inside_a_longer_word(factions):
    # "الحفتري" (a nisba) and "داعشي" are longer words, not the names inside them.
    assert actors(factions, "قال الحفتري وداعشيون", 2019) == []
    # a number alias does not match a longer number
    assert actors(factions, "اللواء 4444", 2022) == []


def test_multiword_alias_does_not_cross_punctuation_or_lines(factions):
    # "قوات، حفتر" and a line break between words are two sentences' worth of words.
    assert actors(factions, "قوات، الوفاق", 2019) == ["GNA"]  # only the one-word alias
    assert only(factions, "قوات،الوفاق", 2019).text == "الوفاق"
    m = only(factions, "خليفة\nحفتر", 2019)
    assert m.text == "حفتر"


def test_overlap_keeps_the_longest(factions):
    # FACT (جبهة التناوب والوفاق) contains والوفاق, which alone would read as the GNA.
    assert actors(factions, "هاجمت جبهة التناوب والوفاق", 2021) == ["ChadianRebels"]


# -- a bad data file -------------------------------------------------------------------------

def _write(tmp_path, factions_list):
    p = tmp_path / "factions.json"
    p.write_text(json.dumps({"factions": factions_list}, ensure_ascii=False), encoding="utf-8")
    return p


def _faction(**over):
    f = {"id": "X", "name_en": "X", "name_ar": "إكس", "kind": "armed_group",
         "description": "test", "aliases": [{"ar": "قوات إكس", "from": 2014, "to": None,
                                             "confidence": 0.9, "note": ""}]}
    f.update(over)
    return f


def _alias(**over):
    a = {"ar": "قوات إكس", "from": 2014, "to": None, "confidence": 0.9, "note": ""}
    a.update(over)
    return a


@pytest.mark.parametrize("factions_list, message", [
    ([_faction(), _faction()], "'X': duplicate id"),
    ([_faction(aliases=[_alias(confidence=1.5)])], "'X': alias 'قوات إكس': confidence"),
    ([_faction(aliases=[_alias(ar="Haftar")])], "'X': alias 'Haftar': not Arabic"),
    ([_faction(aliases=[_alias(ar="  ")])], "'X': alias"),
    ([_faction(aliases=[_alias(**{"from": 2019, "to": 2014})])], "'from' 2019 is after 'to'"),
    ([_faction(aliases=[_alias(**{"from": 20140})])], "'from' must be a year"),
    ([_faction(aliases=[_alias(**{"to": "2014"})])], "'to' must be a year"),
    ([_faction(kind="militia")], "'X': kind 'militia'"),
    ([_faction(aliases=[])], "'X': aliases must be a non-empty list"),
    ([_faction(aliases=[_alias(), _alias(ar="قوات اكس", to=2016)])], "listed twice"),
    ([_faction(aliases=[{"ar": "قوات إكس", "form": 2014, "to": None, "confidence": 1,
                         "note": ""}])], "missing from"),
])
def test_bad_file_raises_a_clear_value_error(tmp_path, factions_list, message):
    # A typo in the lexicon must stop the pipeline with the faction named, not mis-tag events.
    with pytest.raises(ValueError, match=re.escape(message)):
        load_factions(_write(tmp_path, factions_list))


def test_not_json_raises_value_error(tmp_path):
    p = tmp_path / "factions.json"
    p.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_factions(p)
