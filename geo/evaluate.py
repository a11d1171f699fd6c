"""Scoring place resolution against hand-made gold annotations.

Gold files are JSONL, one article a line: `{"doc", "published", "places": [{"text", "start",
"end", "name_en", "kind", "lat", "lon", "in_libya", ...}]}` (see tests/data/gold/README.md).

A predicted mention is right when its span overlaps a gold mention's span and its point lies
within 10 km of the gold point (25 km when the gold place is a district, region or country).
A district's point is a convention (its seat in the gazetteer, often a centroid elsewhere), so a
gold district also counts as found when the prediction is that district: the gold point lies in
the predicted district's polygon. Likewise for regions and the country: their gold point lies in
the predicted area (the union of its districts, gazetteer/data/region_districts.csv).
Precision and recall count Libyan places: a prediction placed in Libya where the gold place is
abroad, or where there is no gold place, is a false positive.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

from gazetteer.model import haversine_km as km
from geo.events import FAMILY

AREA_KINDS = {"district", "region", "country"}
TOLERANCE_KM = 10.0
AREA_TOLERANCE_KM = 25.0


@dataclass
class Score:
    tp: int = 0  # Libyan predictions that are right
    fp: int = 0  # Libyan predictions that are wrong or have no gold place
    fn: int = 0  # Libyan gold places not found (or found at the wrong place)
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {"precision": round(self.precision, 3), "recall": round(self.recall, 3),
                "f1": round(self.f1, 3), "tp": self.tp, "fp": self.fp, "fn": self.fn}


def load_gold(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip()]


@lru_cache(maxsize=1)
def _area_shapes() -> dict:
    from gazetteer.load import DATA_DIR

    path = DATA_DIR / "districts.geojson"
    if not path.exists():
        return {}
    from shapely.geometry import shape

    data = json.loads(path.read_text(encoding="utf-8"))
    shapes = {f["properties"]["iso_code"]: shape(f["geometry"]) for f in data["features"]}
    from shapely import union_all

    areas = {f"iso:{code}": geom for code, geom in shapes.items()}
    areas["iso:LY"] = union_all(list(shapes.values()))
    members = DATA_DIR / "region_districts.csv"
    if members.exists():
        for row in csv.DictReader(members.open(encoding="utf-8")):
            areas[row["region_id"]] = union_all([shapes[c] for c in row["districts"].split()])
    return areas


def _right(pred: dict, gold: dict) -> bool:
    tol = AREA_TOLERANCE_KM if gold.get("kind") in AREA_KINDS else TOLERANCE_KM
    if km(pred["lat"], pred["lon"], gold["lat"], gold["lon"]) <= tol:
        return True
    if gold.get("kind") in AREA_KINDS and pred.get("kind") == gold.get("kind"):
        from shapely.geometry import Point

        shape = _area_shapes().get(pred.get("id", ""))
        return bool(shape is not None and shape.covers(Point(gold["lon"], gold["lat"])))
    return False


def score_document(pred: list[dict], gold: list[dict], score: Score, doc: str = "") -> None:
    """Add one article's outcome to `score`. `pred` items need start, end, lat, lon, in_libya."""
    # gold places without an independent coordinate cannot be scored by distance: predictions
    # on them count neither way, and they are not counted as missed
    unscored = {i for i, g in enumerate(gold) if g.get("lat") is None or g.get("lon") is None}
    used: set[int] = set(unscored)
    for p in pred:
        overlapping = [i for i, g in enumerate(gold) if p["start"] < g["end"] and g["start"] < p["end"]]
        if not p.get("in_libya", True):
            used.update(i for i in overlapping if not gold[i].get("in_libya", True))
            continue  # abroad predictions neither help nor hurt Libyan precision
        if any(i in unscored for i in overlapping):
            continue
        hit = next((i for i in overlapping if i not in used and gold[i].get("in_libya", True)
                    and _right(p, gold[i])), None)
        if hit is None:
            score.fp += 1
            what = ", ".join(f"{gold[i]['name_en']}" for i in overlapping) or "no gold place"
            score.errors.append(f"FP {doc} {p.get('text')!r}@{p['start']} -> "
                                f"{p.get('name_en')} (gold: {what})")
        else:
            used.add(hit)
            score.tp += 1
    for i, g in enumerate(gold):
        if g.get("in_libya", True) and i not in used:
            score.fn += 1
            score.errors.append(f"FN {doc} {g['text']!r}@{g['start']} {g['name_en']}")


def evaluate(gold_docs: Iterable[dict], predict: Callable[[str], list[dict]],
             root: Path = Path(".")) -> Score:
    """Run `predict(text)` on each gold article (path relative to `root`) and score it."""
    score = Score()
    for d in gold_docs:
        text = (root / d["doc"]).read_text(encoding="utf-8")
        score_document(predict(text), d["places"], score, d["doc"])
    return score


# -- events ----------------------------------------------------------------------------------
EVENT_PLACE_KM = 25.0


@dataclass
class EventScore(Score):
    actor_scores: list[float] = field(default_factory=list)
    date_hits: list[bool] = field(default_factory=list)

    @property
    def actor_accuracy(self) -> float:
        return sum(self.actor_scores) / len(self.actor_scores) if self.actor_scores else 1.0

    @property
    def date_accuracy(self) -> float:
        return sum(self.date_hits) / len(self.date_hits) if self.date_hits else 1.0

    def as_dict(self) -> dict:
        return {**super().as_dict(), "actor_accuracy": round(self.actor_accuracy, 3),
                "date_accuracy": round(self.date_accuracy, 3),
                "dated_matches": len(self.date_hits)}


def _families(gold: dict) -> set[str]:
    return {FAMILY[t] for t in [gold["type"], *gold.get("alt_types", [])]}


def _dated_by_text(gold: dict) -> bool:
    """The text states or implies the date (not merely the publication date, not undated)."""
    basis = (gold.get("date_basis") or "").lower()
    return bool(gold.get("date")) and not basis.startswith(("no time expression", "not dated",
                                                             "past, undated"))


def score_events(pred: list[dict], gold: list[dict], score: EventScore, doc: str = "") -> None:
    """Match events by type family and place (within 25 km), preferring the same sentence.
    Actor accuracy is the Jaccard overlap of actor sets on matched events; date accuracy counts
    matched events whose date the text states or implies."""
    # gold events at a place without an independent coordinate cannot be scored by distance
    unscored = {i for i, g in enumerate(gold) if g.get("lat") is None}
    used: set[int] = set(unscored)
    matched: dict[int, int] = {}

    def cands(p: dict, same_sentence: bool) -> list[int]:
        out = [i for i, g in enumerate(gold) if i not in used
               and p["family"] in _families(g)
               and km(p["lat"], p["lon"], g["lat"], g["lon"]) <= EVENT_PLACE_KM]
        if same_sentence:
            out = [i for i in out if gold[i]["sentence_start"] < p["end"]
                   and p["start"] < gold[i]["sentence_end"]]
        # the best pairing first: same type, then same date, then the nearest place
        return sorted(out, key=lambda i: (gold[i]["type"] != p["type"],
                                          gold[i].get("date") != p.get("date"),
                                          km(p["lat"], p["lon"], gold[i]["lat"], gold[i]["lon"])))

    # reports of the same sentence pair first, then the rest
    for same in (True, False):
        for k, p in enumerate(pred):
            if k in matched:
                continue
            found = cands(p, same)
            if found:
                matched[k] = found[0]
                used.add(found[0])
    for k, p in enumerate(pred):
        if k not in matched:
            overlapping_unscored = any(
                gold[i]["sentence_start"] < p["end"] and p["start"] < gold[i]["sentence_end"]
                and p["family"] in _families(gold[i]) for i in unscored)
            if not overlapping_unscored:
                score.fp += 1
                score.errors.append(f"FP {doc} {p['type']} {p.get('place_en')} @{p['start']}")
            continue
        score.tp += 1
        g = gold[matched[k]]
        ga, pa = set(g.get("actors") or []), set(p.get("actors") or [])
        score.actor_scores.append(1.0 if not ga and not pa else len(ga & pa) / len(ga | pa))
        if _dated_by_text(g):
            score.date_hits.append(p.get("date") == g["date"])
            if p.get("date") != g["date"]:
                score.errors.append(f"DATE {doc} {p['type']} {p.get('place_en')} @{p['start']}: "
                                    f"{p.get('date')} for {g['date']}")
    for i, g in enumerate(gold):
        if i not in used:
            score.fn += 1
            score.errors.append(f"FN {doc} {g['type']} {g['place_en']} @{g['sentence_start']}")


def evaluate_events(gold_docs: Iterable[dict], predict: Callable[[str, str | None], list[dict]],
                    root: Path = Path(".")) -> EventScore:
    """Run `predict(text, published)` on each gold article and score its events."""
    score = EventScore()
    for d in gold_docs:
        text = (root / d["doc"]).read_text(encoding="utf-8")
        score_events(predict(text, d.get("published")), d["events"], score, d["doc"])
    return score
