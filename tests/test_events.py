"""Event extraction on sentences written for the case at hand (each says why)."""

from datetime import date

import pytest

from geo.events import EventExtractor, casualties, event_id
from geo.text import tokenize


@pytest.fixture(scope="module")
def extract(resolver):
    ex = EventExtractor(None)

    def run(text, published=date(2019, 4, 5)):
        return ex.extract(text, resolver.resolve(text), published)
    return run


def test_clash_at_a_named_place_with_its_date(extract):
    out = extract("اندلعت اشتباكات عنيفة أمس في منطقة عين زارة جنوب طرابلس.")
    assert [(e.type, e.place.place.name_en) for e in out.events][:1] == [
        ("armed_clash", "Ain Zara")]
    e = out.events[0]
    assert e.date.date == date(2019, 4, 4) and e.geo_precision == 1
    assert out.events[0].sentence.startswith("اندلعت")


def test_airstrike_is_a_shelling_from_the_air(extract):
    out = extract("قصفت طائرة عمودية مواقع في منطقة الظهر الحمر جنوب مدينة درنة.")
    assert out.events and out.events[0].type == "airstrike"


def test_denial_is_not_an_event(extract):
    # seed 004: "ونفى الجيش النظامي أي مشاركة له في اشتباكات الجمعة"
    assert extract("ونفى الجيش النظامي أي مشاركة له في اشتباكات الجمعة في بنغازي.").events == []


def test_announced_plan_is_not_an_event(extract):
    # seed 000: a wide operation to come is not an event
    text = "جهزت رئاسة أركان الجيش لعملية عسكرية واسعة ضد قوات حفتر في بنغازي."
    assert extract(text).events == []


def test_diplomacy_is_not_a_clash(extract):
    # seed 001: the UN Secretary-General's visit to Benghazi is not a clash in Benghazi
    text = "ووصل غوتيريش الجمعة إلى بنغازي للقاء المشير حفتر بعد دعوات لوقف الاشتباكات."
    assert extract(text).events == []


def test_event_abroad_stays_abroad(extract):
    out = extract("قتل مسلحون عشرات الأقباط في هجوم على حافلة في المنيا.")
    assert out.events and not out.events[0].place.place.in_libya


def test_standing_control_is_a_record_not_an_event(extract):
    text = "ويسيطر حفتر على أجزاء في الجنوب الليبي وخصوصا مدينة سبها وحقل الشرارة النفطي."
    out = extract(text)
    assert out.events == []
    # without the factions lexicon no faction is known, so no record either
    assert out.control == []


def test_casualty_counts_in_digits_and_words():
    def words(s):
        return [t[0] for t in tokenize(s)]
    assert casualties(words("أسفرت عن سقوط 24 قتيلًا")) == (24, None)
    assert casualties(words("أدت إلى مقتل 24 شخصًا وجرح 150 آخرين")) == (24, 150)
    assert casualties(words("والقضاء على أكثر من 40 داعشيا")) == (40, None)
    # ACLED codes "dozens" as 12
    assert casualties(words("سقوط عشرات القتلى")) == (12, None)
    assert casualties(words("لم تقع إصابات")) == (None, None)


def test_event_ids_are_stable_and_distinct():
    a = event_id("h", 10, 50, "armed_clash", "osm:n1")
    assert a == event_id("h", 10, 50, "armed_clash", "osm:n1")
    assert a != event_id("h", 10, 50, "shelling", "osm:n1")


def test_parse_fills_events(extract):
    from click.testing import CliRunner
    import json
    from geo.cli import main
    from conftest import ROOT

    res = CliRunner().invoke(main, ["parse", str(ROOT / "seeds" / "004_344b864de92f394a.txt")])
    doc = json.loads(res.stdout)
    assert doc["events"]
    text = (ROOT / "seeds" / "004_344b864de92f394a.txt").read_text(encoding="utf-8")
    for e in doc["events"]:
        assert text[e["start"]:e["end"]].strip() == e["sentence"]
        assert e["date"] is None or e["date"].startswith("2014-05")
