"""`marsad ingest --engine dask`: the same store as the local engine, parsed on a real
LocalCluster of two worker processes (one per test module), and `geo.pipeline.process_article`
for users' own Dask or Spark jobs."""

import hashlib
import json
import logging
import pickle
import shutil
import socket
import sqlite3
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("distributed")

from conftest import ROOT
from distributed import Client, LocalCluster
from test_ingest import make_corpus

import geo.pipeline
from geo.cli import main
from geo.events import content_hash
from geo.ingest import ingest
from geo.store import EventStore, all_incidents_from_scratch

EXTRA = ROOT / "tests/data/gold/extra"
POISON = "variant_003.txt"  # the article the broken worker pipeline fails on


# -- fixtures: one corpus, one cluster, one store per engine ----------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The seeds and 20 variants of their sentences (shared incidents), the 14 further gold
    articles with their dates, and one seed again under another name (same text)."""
    folder = make_corpus(tmp_path_factory.mktemp("dask") / "articles", 20, seed=5)
    extra = folder / "extra"
    extra.mkdir()
    meta = {}
    for line in (ROOT / "tests/data/gold/extra.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        meta[Path(rec["doc"]).name] = {"published": rec["published"]}
    for path in sorted(EXTRA.glob("*.txt")):
        shutil.copy(path, extra / path.name)
    (extra / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    shutil.copy(folder / "001_232d954a2293e5b2.txt", extra / "zz_same_text_as_seed_001.txt")
    return folder


N_ARTICLES = 40  # 5 seeds + 20 variants + 14 extra + 1 duplicate text


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two single-threaded worker processes, with an empty $MARSAD_HOME (no user gazetteer)."""
    home = tmp_path_factory.mktemp("worker_home")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR,
                      env={"MARSAD_HOME": str(home)}) as lc, \
            Client(lc, set_as_default=False) as client:
        client.wait_for_workers(2)
        yield lc.scheduler_address, client


@pytest.fixture(scope="module")
def local_store(corpus, gaz, tmp_path_factory):
    db = tmp_path_factory.mktemp("local") / "local.gpkg"
    summary = ingest([corpus], db, gaz)
    assert (summary.new, summary.unchanged) == (N_ARTICLES - 1, 1) and not summary.failed
    return db, summary


@pytest.fixture(scope="module")
def dask_store(corpus, gaz, cluster, tmp_path_factory):
    db = tmp_path_factory.mktemp("dask") / "dask.gpkg"
    return db, ingest([corpus], db, gaz, engine="dask", scheduler=cluster[0], partitions=8)


def full_snapshot(db: Path) -> dict:
    """Every row of every layer, all columns but fid and timestamps, sorted."""
    con = sqlite3.connect(db)
    try:
        out = {}
        for table in ("articles", "events", "mentions", "control"):
            cols = [r[1] for r in con.execute(f"PRAGMA table_info({table})")
                    if r[1] not in ("fid", "ingested_at", "processed_at")]
            names = ", ".join(f'"{c}"' for c in cols)
            out[table] = sorted(con.execute(f"SELECT {names} FROM {table}"), key=repr)
        out["rtree"] = {t: con.execute(f"SELECT count(*) FROM rtree_{t}_geom").fetchone()[0]
                        for t in ("events", "mentions", "control")}
        return out
    finally:
        con.close()


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# -- the same store as the local engine ----------------------------------------------------------
def test_dask_engine_stores_exactly_what_the_local_engine_stores(local_store, dask_store):
    (local_db, local), (dask_db, dask) = local_store, dask_store
    got, want = full_snapshot(dask_db), full_snapshot(local_db)
    assert [r[0] for r in got["articles"]] == [r[0] for r in want["articles"]]  # article ids
    assert sorted(r[0] for r in got["events"]) == sorted(r[0] for r in want["events"])
    assert got == want
    assert len(want["events"]) > 50 and want["control"] and want["mentions"]
    counts = ("new", "unchanged", "reprocessed", "events_added", "control_added",
              "mentions_added")
    assert [getattr(dask, c) for c in counts] == [getattr(local, c) for c in counts]
    with EventStore(dask_db) as st:  # incidents span articles parsed on different workers
        stored = dict(st.conn.execute("SELECT id, incident_id FROM events"))
        assert stored == all_incidents_from_scratch(st.conn)
    assert len(set(stored.values())) < len(stored)


def test_both_workers_parsed_and_the_summary_says_so(dask_store, cluster):
    _, summary = dask_store
    workers = set(cluster[1].scheduler_info()["workers"])
    assert set(summary.workers) == workers and len(workers) == 2
    assert all(n > 0 for n in summary.workers.values())
    assert sum(summary.workers.values()) == N_ARTICLES - 1  # the duplicate is not shipped
    assert summary.partitions == 8 and summary.engine == "dask"
    assert {"read", "startup", "cluster", "worker", "write"} <= set(summary.timings)
    text = "\n".join(summary.lines())
    assert "dask: 8 partitions on 2 workers" in text and "parse on cluster" in text
    assert all(f"{w}: {n} articles" in text for w, n in summary.workers.items())


def test_ingesting_again_with_dask_changes_nothing(dask_store, corpus, gaz, cluster, tmp_path):
    db = tmp_path / "again.gpkg"
    shutil.copy(dask_store[0], db)
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    summary = ingest([corpus], db, gaz, engine="dask", scheduler=cluster[0])
    assert (summary.new, summary.unchanged, summary.reprocessed) == (0, N_ARTICLES, 0)
    assert summary.partitions == 0 and not summary.workers  # nothing shipped
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest


def test_articles_of_an_older_pipeline_version_are_reprocessed_on_the_cluster(
        corpus, gaz, cluster, local_store, tmp_path):
    db = tmp_path / "old.gpkg"
    ingest([corpus], db, gaz, version="0")  # as an older pipeline stored them
    summary = ingest([], db, gaz, engine="dask", scheduler=cluster[0], partitions=3)
    assert (summary.new, summary.reprocessed) == (0, N_ARTICLES - 1)
    assert sum(summary.workers.values()) == N_ARTICLES - 1
    assert full_snapshot(db) == full_snapshot(local_store[0])


# -- a failure on a worker -----------------------------------------------------------------------
def _break_pipeline(victim):
    """Runs in each worker process: the pipeline raises on one article, as a bug would."""
    from geo import pipeline

    real = pipeline.__dict__.setdefault("_real_parse_article", pipeline.parse_article)

    def broken(article, gazetteer):
        if article.doc.endswith(victim):
            raise ValueError("unexpected token")
        return real(article, gazetteer)

    pipeline.parse_article = broken


def _repair_pipeline():
    from geo import pipeline

    pipeline.parse_article = pipeline.__dict__.pop("_real_parse_article", pipeline.parse_article)


def test_a_pipeline_failure_on_a_worker_is_a_failed_entry(corpus, gaz, cluster, local_store,
                                                          tmp_path):
    client = cluster[1]
    db = tmp_path / "f.gpkg"
    client.run(_break_pipeline, POISON)
    try:
        summary = ingest([corpus], db, gaz, engine="dask", scheduler=cluster[0], partitions=4)
    finally:
        client.run(_repair_pipeline)
    assert [(Path(f.doc).name, f.reason) for f in summary.failed] == [
        (POISON, "error while processing: ValueError: unexpected token")]
    assert summary.new == N_ARTICLES - 2
    victim = content_hash((corpus / POISON).read_text(encoding="utf-8"))
    with EventStore(db) as st:
        assert st.article_version(victim) is None
    summary = ingest([corpus], db, gaz, engine="dask", scheduler=cluster[0])
    assert (summary.new, summary.unchanged, summary.failed) == (1, N_ARTICLES - 1, [])
    assert full_snapshot(db) == full_snapshot(local_store[0])


# -- the command line ----------------------------------------------------------------------------
def test_cli_dask_engine_on_its_own_local_cluster(tmp_path):
    db = tmp_path / "cli.gpkg"
    res = run("ingest", ROOT / "seeds", "--engine", "dask", "--partitions", 4, "--db", db)
    assert res.exit_code == 0, res.output
    assert "5 new, 0 unchanged" in res.output
    assert "dask: 4 partitions on" in res.output and "tcp://" in res.output
    assert "cluster start" in res.output and "Traceback" not in res.output


def test_cli_a_bad_scheduler_address_is_one_clear_line(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = tmp_path / "x.gpkg"
    for address, message in ((f"tcp://127.0.0.1:{port}", "cannot reach the Dask scheduler"),
                             ("no-port-here", "not a Dask scheduler address")):
        res = run("ingest", ROOT / "seeds", "--engine", "dask", "--scheduler", address,
                  "--db", db)
        assert res.exit_code == 1, res.output
        assert res.output.startswith("Error: ") and res.output.count("\n") == 1
        assert message in res.output
        assert not db.exists()  # failed before opening the store


def test_cli_usage_errors():
    res = run("ingest", ROOT / "seeds", "--engine", "dask", "--partitions", 0)
    assert res.exit_code == 2 and "--partitions" in res.output
    res = run("ingest", ROOT / "seeds", "--partitions", 3)
    assert res.exit_code == 2 and "--engine dask" in res.output


def test_cli_without_dask_installed_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    res = run("ingest", ROOT / "seeds", "--engine", "dask", "--db", tmp_path / "n.gpkg")
    assert res.exit_code == 1
    assert "pip install 'marsad[dask]'" in res.output and "Traceback" not in res.output


# -- process_article, for users' own jobs --------------------------------------------------------
def test_process_article_is_a_plain_picklable_function_that_runs_on_workers(cluster, gaz):
    assert pickle.loads(pickle.dumps(geo.pipeline.process_article)) \
        is geo.pipeline.process_article
    path = ROOT / "seeds/001_232d954a2293e5b2.txt"
    record = {"text": path.read_text(encoding="utf-8"), "doc": "seed1",
              "published": "2019-04-05"}
    remote = cluster[1].submit(geo.pipeline.process_article, record).result()
    here = geo.pipeline.process_article(geo.pipeline.as_article(record), gaz)
    assert remote == here
    assert remote["id"] == content_hash(record["text"])
    assert remote["pipeline_version"] == str(geo.pipeline.PIPELINE_VERSION)
    assert remote["parsed"] == geo.pipeline.parse_article(geo.pipeline.as_article(record), gaz)
    assert remote["parsed"]["events"]
    with pytest.raises(ValueError, match="no 'text'"):
        geo.pipeline.process_article({"doc": "empty"})


def test_dask_engine_writes_postgis_as_the_local_engine_writes_a_geopackage(
        corpus, gaz, cluster, local_store, pg_url):
    from test_store_backends import TABLES, rows

    summary = ingest([corpus], pg_url, gaz, engine="dask", scheduler=cluster[0], partitions=4)
    assert (summary.new, summary.unchanged, summary.failed) == (N_ARTICLES - 1, 1, [])
    for table in TABLES:
        assert rows(pg_url, table) == rows(local_store[0], table), table
