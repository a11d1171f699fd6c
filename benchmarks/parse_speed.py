"""Marsad parse-speed and accuracy benchmark, against a naive flashgeotext baseline.

What it measures (see benchmarks/README.md):

1. corpus     -- N synthetic articles (default 2000), built deterministically (fixed seed) by
                 recombining 10-30 sentences of the seed articles and the extra gold articles.
2. start-up   -- import + `load_gazetteer()` in a fresh subprocess, timed inside it, median of 5
                 (target < 1 s).
3. speed      -- `Resolver.resolve(text)` over the corpus on one core, after a warm-up pass
                 (target >= 500 articles/s); also `geo.pipeline.parse_article`, which builds the
                 JSON dicts.
4. baseline   -- flashgeotext loaded with the same gazetteer names (Arabic name and variants of
                 every record; a name shared by several records goes to the most important one),
                 timed the same way.
5. accuracy   -- both systems scored on tests/data/gold/{seeds,extra}.jsonl with `geo.evaluate`
                 (target: Marsad F1 at least 0.3 above the baseline's on both).

Run from the repository root:  .venv/bin/python benchmarks/parse_speed.py [--articles N]
[--quick] [--json FILE].  Nothing here asserts on timings; it only reports.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = 20240601
SOURCES = sorted(ROOT.glob("seeds/*.txt")) + sorted(ROOT.glob("tests/data/gold/extra/*.txt"))
GOLD = {"seeds": ROOT / "tests/data/gold/seeds.jsonl", "extra": ROOT / "tests/data/gold/extra.jsonl"}
_SENTENCE = re.compile(r"[^.!?؟\n]+[.!?؟]?")
STARTUP_CODE = ("import time; t = time.perf_counter(); "
                "from gazetteer.load import load_gazetteer; load_gazetteer(); "
                "print(time.perf_counter() - t)")


# -- corpus -------------------------------------------------------------------------------------
def sentences() -> list[str]:
    out = []
    for path in SOURCES:
        out += [s.strip() for s in _SENTENCE.findall(path.read_text(encoding="utf-8"))]
    return [s for s in out if len(s) > 1]


def build_corpus(n: int, seed: int = SEED) -> list[str]:
    """`n` articles of 10-30 sentences drawn (with a fixed seed) from the source articles."""
    pool, rng = sentences(), random.Random(seed)
    return [" ".join(rng.choices(pool, k=rng.randint(10, 30))) for _ in range(n)]


def megabytes(texts: list[str]) -> float:
    return sum(len(t.encode("utf-8")) for t in texts) / 1e6


# -- timing -------------------------------------------------------------------------------------
def startup_seconds(runs: int = 5) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return [float(subprocess.run([sys.executable, "-c", STARTUP_CODE], cwd=ROOT, env=env,
                                 capture_output=True, text=True, check=True).stdout)
            for _ in range(runs)]


def throughput(fn, corpus: list[str], warmup: list[str]) -> dict:
    for text in warmup:
        fn(text)
    t = time.perf_counter()
    for text in corpus:
        fn(text)
    secs = time.perf_counter() - t
    return {"seconds": round(secs, 3), "articles_per_s": round(len(corpus) / secs, 1),
            "mb_per_s": round(megabytes(corpus) / secs, 3)}


# -- the two systems ----------------------------------------------------------------------------
def marsad_predict(resolver):
    return lambda text: [m.to_json() for m in resolver.resolve(text)]


class Baseline:
    """flashgeotext over the gazetteer's Arabic names: exact whole-word matches, no
    disambiguation (a name goes to its most important record)."""

    def __init__(self, gazetteer):
        from flashgeotext.config import GeoTextConfiguration
        from flashgeotext.geotext import GeoText
        from flashgeotext.lookup import LookupData

        best: dict = {}  # name -> the most important record with that name
        for p in gazetteer.places:
            for name in {p.name_ar, *p.variants_ar} - {""}:
                if name not in best or p.importance > best[name].importance:
                    best[name] = p
        synonyms: dict[str, list[str]] = {}
        for name, p in best.items():
            synonyms.setdefault(p.id, []).append(name)
        self.by_id = gazetteer.by_id
        self.names = len(best)
        self.geotext = GeoText(GeoTextConfiguration(use_demo_data=False))
        # script="arabic" adds Arabic letters to the word characters, so that a name only
        # matches a whole word (otherwise every letter counts as a word boundary)
        self.geotext.add(LookupData(name="marsad", data=synonyms, script="arabic"))

    def extract(self, text: str) -> dict:
        return self.geotext.extract(text, span_info=True)

    def predict(self, text: str) -> list[dict]:
        out = []
        for pid, hit in self.extract(text)["marsad"].items():
            p = self.by_id[pid]
            for start, end in hit["span_info"]:
                out.append({"start": start, "end": end, "lat": p.lat, "lon": p.lon,
                            "in_libya": p.in_libya, "kind": p.kind, "id": p.id,
                            "text": text[start:end], "name_en": p.name_en})
        return sorted(out, key=lambda d: d["start"])


def score(predict) -> dict:
    from geo.evaluate import evaluate, load_gold

    return {name: evaluate(load_gold(path), predict, root=ROOT).as_dict()
            for name, path in GOLD.items()}


# -- report -------------------------------------------------------------------------------------
def run(n: int) -> dict:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    from gazetteer.load import load_gazetteer
    from geo.articles import Article
    from geo.pipeline import parse_article
    from geo.resolve import Resolver

    corpus = build_corpus(n)
    warmup = build_corpus(min(200, n), seed=SEED + 1)  # other articles, same sentences
    startup = startup_seconds()
    gazetteer = load_gazetteer()
    resolver = Resolver(gazetteer)
    baseline = Baseline(gazetteer)

    marsad = throughput(resolver.resolve, corpus, warmup)
    pipeline = throughput(lambda t: parse_article(Article("bench", t), gazetteer), corpus, warmup)
    flash = throughput(baseline.extract, corpus, warmup)
    acc_m, acc_b = score(marsad_predict(resolver)), score(baseline.predict)
    return {
        "corpus": {"articles": n, "mb": round(megabytes(corpus), 3), "seed": SEED,
                   "source_articles": len(SOURCES), "source_sentences": len(sentences())},
        "startup_s": {"median": round(statistics.median(startup), 3),
                      "runs": [round(s, 3) for s in startup], "target": 1.0},
        "gazetteer": {"records": len(gazetteer.places), "baseline_names": baseline.names},
        "speed": {"marsad_resolve": marsad, "marsad_parse_article": pipeline,
                  "flashgeotext": flash, "target_articles_per_s": 500,
                  "baseline_over_marsad": round(flash["articles_per_s"]
                                                / marsad["articles_per_s"], 1)},
        "accuracy": {"marsad": acc_m, "flashgeotext": acc_b,
                     "f1_difference": {k: round(acc_m[k]["f1"] - acc_b[k]["f1"], 3)
                                       for k in GOLD},
                     "target_f1_difference": 0.3},
    }


def report(r: dict) -> str:
    c, s, sp, a = r["corpus"], r["startup_s"], r["speed"], r["accuracy"]
    ok = lambda good: "ok" if good else "MISSED"  # noqa: E731
    lines = [
        f"corpus     {c['articles']} articles, {c['mb']:.2f} MB "
        f"({c['source_sentences']} sentences from {c['source_articles']} articles, seed {c['seed']})",
        f"gazetteer  {r['gazetteer']['records']} records, "
        f"{r['gazetteer']['baseline_names']} distinct Arabic names for the baseline",
        f"start-up   {s['median']:.3f} s median of {len(s['runs'])} {s['runs']}   "
        f"target < {s['target']} s: {ok(s['median'] < s['target'])}",
        "",
        f"{'speed (1 core)':28} {'articles/s':>11} {'MB/s':>8} {'seconds':>8}",
    ]
    for label, key in (("Marsad Resolver.resolve", "marsad_resolve"),
                       ("Marsad parse_article", "marsad_parse_article"),
                       ("flashgeotext baseline", "flashgeotext")):
        m = sp[key]
        lines.append(f"{label:28} {m['articles_per_s']:>11.1f} {m['mb_per_s']:>8.3f} "
                     f"{m['seconds']:>8.2f}")
    lines += [f"Marsad target >= {sp['target_articles_per_s']} articles/s: "
              f"{ok(sp['marsad_resolve']['articles_per_s'] >= sp['target_articles_per_s'])}; "
              f"baseline is {sp['baseline_over_marsad']}x faster than Marsad", "",
              f"{'accuracy':28} {'P':>6} {'R':>6} {'F1':>6} {'tp':>5} {'fp':>5} {'fn':>5}"]
    for fixture in GOLD:
        for system in ("marsad", "flashgeotext"):
            m = a[system][fixture]
            lines.append(f"{system + ' / ' + fixture:28} {m['precision']:>6.3f} "
                         f"{m['recall']:>6.3f} {m['f1']:>6.3f} {m['tp']:>5} {m['fp']:>5} "
                         f"{m['fn']:>5}")
    for fixture, diff in a["f1_difference"].items():
        lines.append(f"F1 difference on {fixture}: {diff:+.3f}   target >= "
                     f"+{a['target_f1_difference']}: {ok(diff >= a['target_f1_difference'])}")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=2000, help="corpus size (default 2000)")
    ap.add_argument("--quick", action="store_true", help="200 articles, for a smoke run")
    ap.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = ap.parse_args(argv)
    result = run(200 if args.quick else args.articles)
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n",
                                   encoding="utf-8")


if __name__ == "__main__":
    main()
