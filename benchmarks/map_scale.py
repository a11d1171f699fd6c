"""Map scale benchmark (not a test): maps of 1,000, 10,000 and 50,000 synthetic events.

For each size it reports the time to build and save the map, the HTML size, and the time headless
Chromium needs to load it (from navigation until the map object exists and the page has settled).
Targets (issue): 50,000 events in under 30 s and 30 MB, loading in under 10 s.

    .venv/bin/python benchmarks/map_scale.py                 # 1k, 10k, 50k
    .venv/bin/python benchmarks/map_scale.py --sizes 1000 --offline
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from gazetteer.load import load_gazetteer
from geo.text import split_sentences
from maps.build import build_map, load_districts, main_towns, render_html

ROOT = Path(__file__).resolve().parent.parent
TYPES = ["armed_clash", "attack", "storming", "airstrike", "shelling", "explosion",
         "territory_taken", "withdrawal", "abduction", "killing", "protest", "mobilization"]
FACTIONS = ["LNA", "GNA", "GNU", "GNS", "ISIS", "Misrata", "Zintan", "Tebu", "Radaa"]


def synthetic_events(n: int, seed: int = 7) -> list[dict]:
    """Events at real gazetteer places, with seed sentences, spread over 2014-2023."""
    rnd = random.Random(seed)
    places = [p for p in load_gazetteer().places if p.in_libya and p.kind not in
              ("country", "region")]
    sentences = []
    for f in sorted((ROOT / "seeds").glob("*.txt")):
        text = f.read_text(encoding="utf-8")
        sentences += [text[a:b].strip() for a, b in split_sentences(text) if b - a > 40]
    start = date(2014, 1, 1)
    out = []
    for i in range(n):
        p = rnd.choice(places)
        out.append({
            "id": f"synthetic{i:06d}", "incident_id": f"synthetic{i:06d}",
            "type": rnd.choice(TYPES), "date": (start + timedelta(days=rnd.randrange(3650)))
            .isoformat(), "date_precision": "day", "place_en": p.name_en, "place_ar": p.name_ar,
            "district": p.district, "lat": p.lat,
            "lon": p.lon, "geo_precision": 1,
            "actors": rnd.sample(FACTIONS, 2), "controller_after": None,
            "fatalities": rnd.choice([None, 0, 1, 3, 12]), "injuries": None,
            "confidence": round(rnd.uniform(0.5, 1.0), 2), "doc": f"synthetic/{i}.txt",
            "url": f"https://example.org/{i}", "source": "synthetic",
            "sentence": rnd.choice(sentences)[:400],
        })
    return out


def load_seconds(html: Path) -> float:
    from maps.screenshot import browser_page, open_map

    with browser_page() as (page, _log):
        t0 = time.perf_counter()
        open_map(page, html)
        return time.perf_counter() - t0 - 0.5  # open_map waits 0.5 s for late drawing


def run(sizes: list[int], offline: bool) -> list[dict]:
    districts = load_districts()
    towns = main_towns(load_gazetteer())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            events = synthetic_events(n)
            t0 = time.perf_counter()
            fmap = build_map(events, [], districts, offline=offline, towns=towns)
            out = Path(tmp) / f"map_{n}.html"
            html = render_html(fmap)
            if offline:
                from maps.offline import make_offline

                html = make_offline(html)
            out.write_text(html, encoding="utf-8")
            build = time.perf_counter() - t0
            mb = out.stat().st_size / 1e6
            rows.append({"events": n, "build_s": round(build, 2), "html_mb": round(mb, 1),
                         "load_s": round(load_seconds(out), 2)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    ap.add_argument("--offline", action="store_true", help="Inline the vendored assets.")
    args = ap.parse_args()
    rows = run(args.sizes, args.offline)
    print(f"\n{'events':>8} {'build s':>8} {'HTML MB':>8} {'load s':>7}")
    for r in rows:
        print(f"{r['events']:>8} {r['build_s']:>8} {r['html_mb']:>8} {r['load_s']:>7}")


if __name__ == "__main__":
    main()
