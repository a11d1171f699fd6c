"""Place resolution scored against the hand-made gold annotations (tests/data/gold).

The floors are the issue's targets on the seeds (precision and recall >= 0.95) and, on the
further articles, a floor a little under today's scores so that a regression fails the suite."""

import pytest

from geo.evaluate import evaluate, load_gold

from conftest import ROOT

GOLD = ROOT / "tests" / "data" / "gold"


def predict_with(resolver):
    return lambda text: [m.to_json() for m in resolver.resolve(text)]


@pytest.mark.parametrize("fixture,floor", [("seeds.jsonl", 0.95), ("extra.jsonl", 0.93),
                                           ("../heldout/places.jsonl", 0.9)])
def test_precision_and_recall_of_libyan_places(resolver, fixture, floor):
    # the held-out articles (tests/data/heldout) are never tuned on; their floor only guards
    # against regressions
    score = evaluate(load_gold(GOLD / fixture), predict_with(resolver), root=ROOT)
    assert score.precision >= floor, score.errors
    assert score.recall >= floor, score.errors


def test_gold_spans_match_their_articles():
    for fixture in ("seeds.jsonl", "extra.jsonl"):
        for doc in load_gold(GOLD / fixture):
            text = (ROOT / doc["doc"]).read_text(encoding="utf-8")
            for p in doc["places"]:
                assert text[p["start"]:p["end"]] == p["text"], (doc["doc"], p)


def test_scorer_counts_wrong_places_and_misses():
    from geo.evaluate import Score, score_document

    gold = [{"text": "x", "start": 0, "end": 5, "name_en": "A", "kind": "city", "lat": 32.0,
             "lon": 13.0, "in_libya": True},
            {"text": "y", "start": 10, "end": 15, "name_en": "B", "kind": "city", "lat": 30.0,
             "lon": 20.0, "in_libya": True}]
    pred = [{"start": 0, "end": 5, "lat": 32.05, "lon": 13.0, "in_libya": True},   # right (5.6 km)
            {"start": 10, "end": 15, "lat": 31.0, "lon": 20.0, "in_libya": True},  # 111 km off
            {"start": 20, "end": 25, "lat": 31.0, "lon": 20.0, "in_libya": True}]  # no gold
    s = Score()
    score_document(pred, gold, s)
    assert (s.tp, s.fp, s.fn) == (1, 2, 1)


@pytest.mark.parametrize("fixture,f1_floor,actor_floor,date_floor", [
    ("events_seeds.jsonl", 0.82, 0.8, 0.9),    # today: F1 0.840, actors 0.833, dates 0.933
    ("events_extra.jsonl", 0.84, 0.8, 0.9),    # today: F1 0.862, actors 0.828, dates 0.935
    ("events_extra2.jsonl", 0.95, 0.88, 0.95)])  # today: F1 0.978, actors 0.911, dates 1.0
def test_event_extraction_against_gold(gaz, fixture, f1_floor, actor_floor, date_floor):
    """Floors just under today's scores (the issue's targets are higher: see the README)."""
    from geo.articles import Article
    from geo.evaluate import evaluate_events
    from geo.pipeline import parse_article

    def predict(text, published):
        return parse_article(Article("x", text, published=published), gaz)["events"]

    score = evaluate_events(load_gold(GOLD / fixture), predict, root=ROOT)
    assert score.f1 >= f1_floor, score.errors
    assert score.actor_accuracy >= actor_floor, score.as_dict()
    assert score.date_accuracy >= date_floor, score.errors


def test_event_scorer_prefers_the_same_sentence():
    from geo.evaluate import EventScore, score_events

    gold = [{"type": "armed_clash", "lat": 32.9, "lon": 13.2, "sentence_start": 0,
             "sentence_end": 50, "actors": ["LNA", "GNA"], "date": "2019-04-05",
             "date_basis": "اليوم", "place_en": "T"},
            {"type": "armed_clash", "lat": 32.9, "lon": 13.2, "sentence_start": 100,
             "sentence_end": 150, "actors": ["GNA"], "date": None, "place_en": "T"}]
    pred = [{"type": "armed_clash", "family": "fight", "lat": 32.91, "lon": 13.2, "start": 100,
             "end": 150, "actors": ["GNA"], "date": None},
            {"type": "shelling", "family": "remote", "lat": 32.9, "lon": 13.2, "start": 0,
             "end": 50, "actors": [], "date": None}]
    s = EventScore()
    score_events(pred, gold, s)
    assert (s.tp, s.fp, s.fn) == (1, 1, 1)
    assert s.actor_scores == [1.0]
