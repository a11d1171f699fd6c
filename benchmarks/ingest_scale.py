"""Ingest at scale (not a test): `marsad ingest` of 20,000 synthetic articles, single process
(`--engine local`) against a Dask LocalCluster of 2 worker processes (`--engine dask`).

Corpus: articles of 10-30 sentences of the seed and gold articles, recombined with a fixed seed
(as in parse_speed.py), each text distinct, with a publication date drawn from 2011-2023,
written as JSONL files of 2,000 articles (one file may not exceed 50 MB) in a temp folder.

For each engine a fresh GeoPackage. Reported: wall time and articles/s, the speed-up, where the
time goes (reading, parsing, districts, writing the store; for Dask also cluster start-up, the
workers' busy time, the driver's writing and waiting, and the cost of moving the data, measured
separately by sending every partition to a worker and back) and whether both stores hold the
same rows (a digest of every layer without fids and timestamps).

    .venv/bin/python benchmarks/ingest_scale.py                      # 20,000 articles (~8 min)
    .venv/bin/python benchmarks/ingest_scale.py --articles 2000      # a quick run
    .venv/bin/python benchmarks/ingest_scale.py --json out/ingest_scale.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import sqlite3
import sys
import tempfile
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SEED = 20240601
PER_FILE = 2000
FIRST_DAY, DAYS = date(2011, 2, 15), 4700  # to the end of 2023


# -- corpus -------------------------------------------------------------------------------------
def build_articles(n: int, seed: int = SEED) -> list[dict]:
    """`n` JSON articles with distinct texts of 10-30 source sentences and a date."""
    from parse_speed import sentences

    pool, rng = sentences(), random.Random(seed)
    seen: set[str] = set()
    out = []
    while len(out) < n:
        text = " ".join(rng.choices(pool, k=rng.randint(10, 30)))
        day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        if text in seen:
            continue
        seen.add(text)
        i = len(out)
        out.append({"text": text, "published": day.isoformat(), "source": "synthetic",
                    "url": f"https://example.org/bench/{i}", "title": f"synthetic {i}"})
    return out


def write_corpus(articles: list[dict], folder: Path) -> float:
    """JSONL files of PER_FILE articles; the corpus size in MB."""
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(0, len(articles), PER_FILE):
        with open(folder / f"part_{k // PER_FILE:03d}.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(a, ensure_ascii=False) + "\n"
                          for a in articles[k:k + PER_FILE])
    return sum(p.stat().st_size for p in folder.glob("*.jsonl")) / 1e6


# -- instrumented local engine ------------------------------------------------------------------
class Clock:
    """Wraps functions to add up the seconds spent in them."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._undo = []

    def wrap(self, owner, name: str, label: str) -> None:
        real = getattr(owner, name)

        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - t

        setattr(owner, name, timed)
        self._undo.append((owner, name, real))

    def restore(self) -> None:
        for owner, name, real in reversed(self._undo):
            setattr(owner, name, real)


def run_local(corpus: Path, db: Path, gaz) -> dict:
    import geo.ingest
    import geo.pipeline
    from geo.store import EventStore

    clock = Clock()
    clock.wrap(geo.pipeline, "parse_article", "parse")
    clock.wrap(geo.ingest.Ingester, "prepare", "districts")
    clock.wrap(EventStore, "write_article", "write")
    t = time.perf_counter()
    try:
        summary = geo.ingest.ingest([corpus], db, gaz)
    finally:
        clock.restore()
    wall = time.perf_counter() - t
    parts = {k: round(v, 2) for k, v in clock.seconds.items()}
    parts["other (reading, hashing, checks)"] = round(wall - sum(parts.values()), 2)
    return {"wall_s": round(wall, 2), "summary": _counts(summary), "parts_s": parts}


# -- dask engine --------------------------------------------------------------------------------
def run_dask(corpus: Path, db: Path, gaz, workers: int, partitions: int | None) -> dict:
    import geo.dask_engine as dk
    from geo.ingest import Ingester
    from geo.store import open_store

    t = time.perf_counter()
    with dk.DaskEngine(partitions=partitions, workers=workers) as engine, \
            open_store(db) as store:
        ing = Ingester(store, gaz)
        engine.run(ing, [corpus])
        summary = ing.finish()
        engine.close()  # the cluster's shutdown counts too
    wall = time.perf_counter() - t
    tm = summary.timings
    return {"wall_s": round(wall, 2), "summary": _counts(summary),
            "workers": summary.workers, "partitions": summary.partitions,
            "parts_s": {"read (driver)": round(tm["read"], 2),
                        "cluster start-up": round(tm["startup"], 2),
                        "parse + write phase (wall)": round(tm["cluster"], 2),
                        "  workers busy (sum over workers)": round(tm["worker"], 2),
                        "  driver writing the store": round(tm["write"], 2),
                        "  driver waiting for results": round(tm["cluster"] - tm["write"], 2),
                        "shut-down and rest": round(wall - tm["read"] - tm["startup"]
                                                    - tm["cluster"], 2)}}


def transfer_cost(corpus: Path, workers: int, partitions: int, result_bytes: int) -> dict:
    """Seconds to send every partition's payload to a worker and get it back (an identity
    task), and to fetch `result_bytes` of results: the data moving part of the Dask run."""
    from distributed import Client, LocalCluster, wait

    from geo.articles import read_articles
    from geo.dask_engine import DaskEngine

    todo = [a for a in read_articles([corpus]) if hasattr(a, "text")]
    n = len(todo)
    payloads = [[DaskEngine._payload(k, todo[k]) for k in range(i * n // partitions,
                                                               (i + 1) * n // partitions)]
                for i in range(partitions)]
    warnings.filterwarnings("ignore", message="Sending large graph")  # that is the point here
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR) as lc, \
            Client(lc) as client:
        client.wait_for_workers(workers)
        t = time.perf_counter()
        back = client.gather(client.map(_identity, payloads, pure=False))
        there_and_back = time.perf_counter() - t
        assert len(back) == partitions
        made = client.map(_bytes, [result_bytes // partitions] * partitions, pure=False)
        wait(made)  # made on the workers; then only the fetch is timed
        t = time.perf_counter()
        client.gather(made)
        fetch = time.perf_counter() - t
    mb_in = sum(len(a["text"].encode("utf-8")) for p in payloads for a in p) / 1e6
    return {"texts_mb": round(mb_in, 1), "texts_there_and_back_s": round(there_and_back, 2),
            "results_mb": round(result_bytes / 1e6, 1), "results_fetch_s": round(fetch, 2)}


def _identity(x):
    return x


def _bytes(n: int) -> bytes:
    return os.urandom(n)


def result_bytes_per_article(gaz, articles: list[dict], sample: int = 200) -> float:
    """Pickled size of what a worker returns for one article (parse output, districts set)."""
    import pickle

    from geo.dask_engine import process_partition

    items = [{"key": i, "doc": f"x#{i}", "text": a["text"], "published": a["published"]}
             for i, a in enumerate(articles[:sample])]
    out = process_partition(items)
    return len(pickle.dumps(out["results"], protocol=5)) / len(items)


# -- checks and report --------------------------------------------------------------------------
def _counts(summary) -> dict:
    return {k: getattr(summary, k) for k in ("new", "unchanged", "reprocessed", "events_added",
                                             "control_added", "mentions_added")} | {
        "failed": len(summary.failed), "skipped": len(summary.skipped)}


def store_digest(db: Path) -> dict[str, str]:
    """A digest per layer of every row (all columns but fid and timestamps), in a fixed order."""
    con = sqlite3.connect(db)
    out = {}
    try:
        for table in ("articles", "events", "mentions", "control"):
            cols = [r[1] for r in con.execute(f"PRAGMA table_info({table})")
                    if r[1] not in ("fid", "ingested_at", "processed_at")]
            names = ", ".join(f'"{c}"' for c in cols)
            h = hashlib.sha256()
            for row in con.execute(f"SELECT {names} FROM {table} ORDER BY {names}"):
                h.update(repr(row).encode("utf-8"))
            out[table] = h.hexdigest()[:16]
    finally:
        con.close()
    return out


def report(r: dict) -> str:
    loc, dk = r["local"], r["dask"]
    n = r["corpus"]["articles"]
    lines = [(f"corpus   {n} articles, {r['corpus']['mb']:.1f} MB JSONL, seed {SEED}, "
              f"{r['machine']['cores']} cores"),
             "",
             f"{'engine':36} {'wall s':>8} {'articles/s':>11}",
             f"{'local (1 process)':36} {loc['wall_s']:>8.1f} {n / loc['wall_s']:>11.1f}",
             (f"{'dask (LocalCluster, ' + str(r['workers']) + ' workers)':36} "
              f"{dk['wall_s']:>8.1f} {n / dk['wall_s']:>11.1f}"),
             (f"speed-up {r['speedup']:.2f}x   (target >= 1.6x: "
              f"{'met' if r['speedup'] >= 1.6 else 'MISSED'})"),
             f"same rows in both stores: {r['identical']}", "", "local engine, seconds:"]
    lines += [f"  {k:40} {v:>8.1f}" for k, v in loc["parts_s"].items()]
    lines += ["dask engine, seconds:"]
    lines += [f"  {k:40} {v:>8.1f}" for k, v in dk["parts_s"].items()]
    lines.append(f"  partitions {dk['partitions']}; articles per worker: "
                 + ", ".join(f"{w} {c}" for w, c in sorted(dk["workers"].items())))
    if "transfer" in r:
        t = r["transfer"]
        lines.append(f"  transfer, measured apart: {t['texts_mb']} MB of texts to the workers "
                     f"and back {t['texts_there_and_back_s']} s; {t['results_mb']} MB of "
                     f"results fetched {t['results_fetch_s']} s")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=20000, help="corpus size (default 20000)")
    ap.add_argument("--workers", type=int, default=2, help="Dask worker processes (default 2)")
    ap.add_argument("--partitions", type=int, help="partitions (default: the engine's)")
    ap.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    ap.add_argument("--keep", metavar="DIR", help="keep corpus and stores in DIR")
    args = ap.parse_args(argv)

    from gazetteer.load import load_gazetteer
    from geo.dask_engine import default_partitions

    gaz = load_gazetteer()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ingest_scale_"))
    articles = build_articles(args.articles)
    mb = write_corpus(articles, work / "corpus")
    r = {"corpus": {"articles": args.articles, "mb": round(mb, 1)}, "workers": args.workers,
         "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]}}
    print(f"corpus in {work / 'corpus'} ({mb:.1f} MB); local engine ...", flush=True)
    r["local"] = run_local(work / "corpus", work / "local.gpkg", gaz)
    print(f"  {r['local']['wall_s']} s; dask engine ...", flush=True)
    r["dask"] = run_dask(work / "corpus", work / "dask.gpkg", gaz, args.workers, args.partitions)
    print(f"  {r['dask']['wall_s']} s; transfer and checks ...", flush=True)
    r["speedup"] = round(r["local"]["wall_s"] / r["dask"]["wall_s"], 2)
    r["identical"] = (store_digest(work / "local.gpkg") == store_digest(work / "dask.gpkg")
                      and r["local"]["summary"] == r["dask"]["summary"])
    per_article = result_bytes_per_article(gaz, articles)
    parts = args.partitions or default_partitions(args.articles, args.workers)
    r["transfer"] = transfer_cost(work / "corpus", args.workers, parts,
                                  int(per_article * args.articles))
    print(report(r))
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2) + "\n", encoding="utf-8")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
