"""How fast `geo.query` answers place questions on big stores (numbers only, not a test).

    .venv/bin/python benchmarks/query_speed.py                    # 10k, 100k, 1M events
    .venv/bin/python benchmarks/query_speed.py --sizes 10000 --repeat 3

Builds synthetic GeoPackage stores with `geo.store`'s schema (bulk insert in one transaction
with the R-tree trigger dropped, then the R-tree filled once and the trigger restored), then
times district, bbox, radius and polygon queries that return about 1 % and about 10 % of the
events: count only and rows returned, cold (first run in the process, new connection) and warm
(median of the next runs). See benchmarks/README.md for the numbers measured here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.events import FAMILY  # noqa: E402
from geo.store import EventStore, open_store  # noqa: E402

TYPES = list(FAMILY)
ACTORS = ["LNA", "GNA", "Misrata", "Zintan", "ISIS", "Radaa", "civilians"]


def _sample_in(geom, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """n uniform random points inside `geom` (rejection sampling in its bbox)."""
    w, s, e, nn = geom.bounds
    shapely.prepare(geom)
    xs, ys = [], []
    got = 0
    while got < n:
        k = max(1000, int((n - got) * 3))
        x = rng.uniform(w, e, k)
        y = rng.uniform(s, nn, k)
        ok = shapely.contains_xy(geom, x, y)
        xs.append(x[ok])
        ys.append(y[ok])
        got += int(ok.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def synthetic_events(n: int, seed: int = 7) -> dict:
    """Columns of n synthetic events: 10 % in Tripoli district, 1 % in Jufra, the rest spread
    over the other districts; 0.5 % are area-only (geo_precision 3) at a district's point."""
    from gazetteer.load import load_gazetteer
    from geo.query import load_regions

    rng = np.random.default_rng(seed)
    regions = load_regions()
    gaz = load_gazetteer()
    codes = sorted(regions.codes)
    others = [c for c in codes if c not in ("LY-TB", "LY-JU")]
    weights = np.array([0.10 if c == "LY-TB" else 0.01 if c == "LY-JU" else 0.89 / len(others)
                        for c in codes])
    which = rng.choice(len(codes), size=n, p=weights)
    lon = np.empty(n)
    lat = np.empty(n)
    for i, c in enumerate(codes):
        idx = np.flatnonzero(which == i)
        lon[idx], lat[idx] = _sample_in(regions.geometry(c), len(idx), rng)
    district = np.array(codes)[which]
    precision = np.where(rng.random(n) < 0.005, 3, rng.choice([1, 2], size=n, p=[0.8, 0.2]))
    place_id = np.array([None] * n, dtype=object)
    area = precision == 3
    for i, c in enumerate(codes):
        sel = area & (which == i)
        p = gaz.get(f"iso:{c}")
        lon[sel], lat[sel], place_id[sel] = p.lon, p.lat, p.id
    types = np.array(TYPES)[rng.integers(0, len(TYPES), n)]
    days = rng.integers(0, 365 * 12, n)
    dates = (np.datetime64("2011-02-15") + days).astype(str)
    conf = np.round(rng.uniform(0.3, 1.0, n), 3)
    acts = [json.dumps(list(rng.choice(ACTORS, size=2, replace=False))) for _ in range(n)]
    # the text columns as real stores fill them: a sentence of the seed articles, about 8
    # events per article (doc, url, source), the place's names
    names = {c: (gaz.get(f"iso:{c}").name_en, gaz.get(f"iso:{c}").name_ar) for c in codes}
    pool = _seed_sentences()
    return {"lon": lon, "lat": lat, "district": district, "precision": precision,
            "place_id": place_id, "types": types, "dates": dates, "conf": conf, "acts": acts,
            "sentence": [pool[k] for k in rng.integers(0, len(pool), n)],
            "article": rng.integers(0, max(1, n // 8), n),
            "names": [names[c] for c in district]}


OUTLETS = ["Libya Observer", "Al Wasat", "Libya Al Ahrar", "Al Marsad", "Libya Herald"]


def _seed_sentences() -> list[str]:
    """The sentences of the seed articles (40-400 characters)."""
    import re

    out = []
    for p in sorted((ROOT / "seeds").glob("*.txt")):
        out += [x.strip() for x in re.split(r"(?<=[.!؟])\s+", p.read_text(encoding="utf-8"))
                if 40 <= len(x.strip()) <= 400]
    return out


def build_store(path: Path, ev: dict) -> float:
    """A GeoPackage store of the synthetic events `ev`; seconds taken."""
    t0 = time.perf_counter()
    lon, lat = ev["lon"], ev["lat"]
    header = b"GP\x00\x01" + (4326).to_bytes(4, "little")
    wkb = shapely.to_wkb(shapely.points(lon, lat), byte_order=1)
    if path.exists():
        path.unlink()
    with EventStore(path) as store:
        conn = store.conn
        trig = conn.execute("SELECT sql FROM sqlite_master WHERE type='trigger' "
                            "AND name='rtree_events_geom_insert'").fetchone()[0]
        conn.execute("PRAGMA journal_mode=OFF")  # a fresh benchmark file: no journal needed
        conn.execute("PRAGMA synchronous=OFF")
        with store.transaction() as c:
            c.execute("DROP TRIGGER rtree_events_geom_insert")
            c.executemany(
                "INSERT INTO events (geom, id, incident_id, article_id, type, family, date, "
                "date_precision, place_id, place_en, place_ar, district, lat, lon, "
                "geo_precision, in_libya, actors, confidence, sentence, doc, url, source) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'day', ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)",
                _rows(ev, header, wkb))
            c.execute("INSERT INTO rtree_events_geom SELECT fid, lon, lon, lat, lat FROM events")
            c.execute(trig)
            c.execute("UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ? "
                      "WHERE table_name = 'events'",
                      (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())))
    return time.perf_counter() - t0


def _rows(ev: dict, header: bytes | None = None, wkb=None):
    """Rows for the events table, in the column order of `build_store`'s INSERT."""
    for i in range(len(ev["lon"])):
        t, a = ev["types"][i], int(ev["article"][i])
        geom = header + wkb[i] if header is not None else None
        yield (geom, f"e{i:07d}", f"e{i:07d}", f"art{a:07d}", t, FAMILY[t], ev["dates"][i],
               ev["place_id"][i], ev["names"][i][0], ev["names"][i][1], ev["district"][i],
               float(ev["lat"][i]), float(ev["lon"][i]), int(ev["precision"][i]),
               ev["acts"][i], float(ev["conf"][i]), ev["sentence"][i], f"art{a:07d}.txt",
               f"https://news.example/{a}", OUTLETS[a % len(OUTLETS)])


def build_pg_store(url: str, ev: dict) -> float:
    """The same events in a PostGIS store (schema by geo.pgstore; COPY, then the indexes,
    CLUSTER on the spatial index and ANALYZE)."""
    import psycopg

    from geo.pgstore import ewkb_point

    t0 = time.perf_counter()
    open_store(url).close()  # the schema
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP INDEX IF EXISTS events_geom_gist")
        cols = ("geom, id, incident_id, article_id, type, family, date, place_id, place_en, "
                "place_ar, district, lat, lon, geo_precision, actors, confidence, sentence, doc, "
                "url, source, date_precision, in_libya")
        with conn.cursor() as cur, cur.copy(f"COPY events ({cols}) FROM STDIN") as copy:
            for row in _rows(ev):
                copy.write_row((ewkb_point(row[12], row[11]), *row[1:], "day", True))
        conn.execute("CREATE INDEX events_geom_gist ON events USING gist (geom)")
        # rows near each other on disk, as README advises after a bulk load
        conn.execute("CLUSTER events USING events_geom_gist")
        conn.execute("VACUUM ANALYZE events")
    return time.perf_counter() - t0


def build_copy(db: Path) -> tuple[float, str] | None:
    """(seconds, size) to build the columnar copy that queries read (geo.columns), from
    nothing; None when the store is too small to get one."""
    import shutil

    from geo.columns import cache_root, event_columns, store_dir

    shutil.rmtree(store_dir(db, cache_root()), ignore_errors=True)
    t = time.perf_counter()
    with EventStore(db, create=False) as store:
        table = event_columns(store, progress=False)
    if table is None:
        return None
    size = sum(f.stat().st_size for f in store_dir(db, cache_root()).glob("*.arrow"))
    return time.perf_counter() - t, f"{size / 1e6:.0f} MB"


def queries(gaz):
    """(label, size class, query_events kwargs)."""
    from geo.query import load_regions

    r = load_regions()
    tb, ju = r.geometry("LY-TB"), r.geometry("LY-JU")
    t = gaz.get("osm:n1699640925")
    return [
        ("district Tripoli (طرابلس)", "~10%", {"region": "طرابلس"}),
        ("district Jufra", "~1%", {"region": "Jufrah"}),
        ("bbox Tripoli district", "~10%", {"bbox": ",".join(f"{v:.4f}" for v in tb.bounds)}),
        ("bbox in Jufra", "~1%", {"bbox": "15.0,28.5,17.0,30.0"}),
        ("radius 30 km of Tripoli", "~10%", {"near": f"{t.lat},{t.lon}", "km": 30}),
        ("radius 100 km of Hun", "~1%", {"near": "Hun", "km": 100}),
        ("polygon hull of Tripoli", "~10%", {"within": tb.convex_hull}),
        ("polygon hull of Jufra", "~1%", {"within": ju.convex_hull}),
        ("district Tripoli + LNA + 2019", "filters", {"region": "Tripoli", "factions": ["LNA"],
                                                      "since": "2019", "until": "2019"}),
    ]


def time_query(db, kwargs, gaz, count_only: bool, repeat: int) -> tuple[float, float, int]:
    from geo.query import query_events

    def once():
        t = time.perf_counter()
        r = query_events(db, gazetteer=gaz, count_only=count_only, **kwargs)
        return time.perf_counter() - t, (r if count_only else len(r))

    cold, n = once()
    warm = statistics.median(once()[0] for _ in range(repeat))
    return cold * 1000, warm * 1000, n


def _pg_url(arg: str | None):
    """(URL of a server, server to stop or None): --pg URL, or a throwaway server with normal
    durability settings (tests/pgserver.py)."""
    if arg:
        return arg, None
    sys.path.insert(0, str(ROOT / "tests"))
    from pgserver import PostgresServer

    server = PostgresServer(fast=False).start()
    return server, server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--repeat", type=int, default=5, help="warm runs (median)")
    ap.add_argument("--backends", default="gpkg,postgis",
                    help="gpkg, postgis or both (comma-separated)")
    ap.add_argument("--pg", metavar="URL", help="a PostgreSQL server whose role may create "
                    "databases (default: a throwaway local server, tests/pgserver.py)")
    ap.add_argument("--dir", default=str(ROOT / "out" / "bench"))
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()
    import os

    os.environ.setdefault("MARSAD_CACHE_DIR", str(Path(args.dir) / "cache"))
    from gazetteer.load import load_gazetteer
    from geo.query import load_regions

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    t = time.perf_counter()
    gaz = load_gazetteer()
    load_regions()
    print(f"gazetteer + regions loaded once: {(time.perf_counter() - t) * 1000:.0f} ms")
    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    server = owned = None
    if "postgis" in backends:
        server, owned = _pg_url(args.pg)
    results = []
    try:
        for n in map(int, args.sizes.split(",")):
            ev = synthetic_events(n)
            for backend in backends:
                if backend == "gpkg":
                    db = out / f"query_{n}.gpkg"
                    built = build_store(db, ev)
                    size = f"{db.stat().st_size / 1e6:.0f} MB"
                    copied = build_copy(db)
                    if copied:
                        size += f"; its columnar copy built in {copied[0]:.1f} s, {copied[1]}"
                else:
                    name = f"query_{n}"
                    if isinstance(server, str):
                        db = server  # a database the user gave: used as it is
                    else:
                        server.drop_database(name)
                        db = server.create_database(name)
                    built = build_pg_store(db, ev)
                    size = "PostGIS"
                print(f"\n== {backend}, {n:,} events: built in {built:.1f} s ({size})")
                print(f"{'query':<32}{'class':>8}{'rows':>9}{'%':>7}"
                      f"{'count cold':>12}{'count warm':>12}{'rows cold':>11}{'rows warm':>11}"
                      "  (ms)")
                for label, cls, kw in queries(gaz):
                    cc, cw, k = time_query(db, kw, gaz, True, args.repeat)
                    rc, rw, k2 = time_query(db, kw, gaz, False, args.repeat)
                    assert k == k2, (label, k, k2)
                    print(f"{label:<32}{cls:>8}{k:>9,}{100 * k / n:>7.2f}"
                          f"{cc:>12.1f}{cw:>12.1f}{rc:>11.1f}{rw:>11.1f}", flush=True)
                    results.append({"backend": backend, "events": n, "query": label,
                                    "class": cls, "rows": k, "count_cold_ms": cc,
                                    "count_warm_ms": cw, "rows_cold_ms": rc, "rows_warm_ms": rw})
    finally:
        if owned is not None:
            owned.stop()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
