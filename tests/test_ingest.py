"""`marsad ingest` / `marsad events` on a realistic small corpus: the seed articles and variants
built from their sentences, parsed by the real pipeline."""

import csv
import hashlib
import io
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import geo.pipeline
from geo import store as store_mod
from geo.cli import main
from geo.ingest import Ingester, current_pipeline_version, ingest
from geo.store import EventStore, all_incidents_from_scratch
from geo.text import split_sentences

from conftest import ROOT

SEEDS = ROOT / "seeds"
SEED_META = json.loads((SEEDS / "metadata.json").read_text(encoding="utf-8"))


def seed_sentences() -> list[tuple[str, str]]:
    """(sentence, published date of its seed article) of every seed sentence worth reusing."""
    out = []
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        pub = SEED_META[path.name]["published"]
        for start, end in split_sentences(text):
            s = text[start:end].strip()
            if len(s) > 40:
                out.append((s, pub))
    return out


def make_corpus(folder: Path, n_variants: int, *, seed: int = 7) -> Path:
    """The five seeds (with their metadata.json) plus `n_variants` articles made of 2-4 seed
    sentences each, dated like the seed of their first sentence. Variants that share a sentence
    and a date report the same incident."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {}
    for path in sorted(SEEDS.glob("*.txt")):
        shutil.copy(path, folder / path.name)
        meta[path.name] = {"published": SEED_META[path.name]["published"]}
    rng = random.Random(seed)
    sentences = seed_sentences()
    texts = {p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    i = 0
    while i < n_variants:
        picked = rng.sample(sentences, rng.randint(2, 4))
        text = "\n".join(s for s, _ in picked) + "\n"
        if text in texts:
            continue
        texts.add(text)
        name = f"variant_{i:03d}.txt"
        (folder / name).write_text(text, encoding="utf-8")
        meta[name] = {"published": picked[0][1], "source": "synthetic"}
        i += 1
    (folder / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return folder


def snapshot(db: Path) -> dict:
    """What a store holds, independent of fids and timestamps."""
    con = sqlite3.connect(db)
    try:
        return {
            "articles": sorted(con.execute("SELECT id, pipeline_version FROM articles")),
            "events": sorted(con.execute("SELECT id, incident_id, type, date, lat, lon, actors "
                                         "FROM events")),
            "mentions": sorted(con.execute("SELECT article_id, start_char, end_char, place_id "
                                           "FROM mentions")),
            "control": sorted(con.execute("SELECT id, faction, place_id FROM control")),
        }
    finally:
        con.close()


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"), 25)


@pytest.fixture(scope="module")
def clean_store(corpus, gaz, tmp_path_factory):
    db = tmp_path_factory.mktemp("clean") / "events.gpkg"
    summary = ingest([corpus], db, gaz)
    assert summary.new == 30 and not summary.skipped and not summary.failed
    return db


# -- idempotence, bad input, crashes -------------------------------------------------------------
def test_ingest_stores_the_corpus_and_its_incidents(clean_store):
    snap = snapshot(clean_store)
    assert len(snap["articles"]) == 30
    assert len(snap["events"]) > 20 and snap["mentions"]
    with EventStore(clean_store) as st:
        assert dict((e[0], e[1]) for e in snap["events"]) == all_incidents_from_scratch(st.conn)
    shared = {}
    for eid, inc, *_ in snap["events"]:
        shared.setdefault(inc, []).append(eid)
    groups = [g for g in shared.values() if len(g) > 1]
    assert groups, "variants repeating a seed sentence report the same incident"
    assert all(inc == min(g) for inc, g in shared.items())


def test_reingest_changes_nothing(clean_store, corpus, gaz, tmp_path):
    db = tmp_path / "again.gpkg"
    shutil.copy(clean_store, db)
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    summary = ingest([corpus], db, gaz)
    assert (summary.new, summary.unchanged, summary.reprocessed) == (0, 30, 0)
    assert summary.events_added == 0
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest  # not one byte written


def test_bad_files_are_skipped_with_reasons_and_leave_the_store_alone(corpus, gaz, tmp_path):
    batch = tmp_path / "batch"
    shutil.copytree(corpus, batch)
    (batch / "a_empty.txt").write_bytes(b"")
    (batch / "b_binary.txt").write_bytes(bytes(range(256)) * 8)
    (batch / "c_broken.json").write_text("{not json", encoding="utf-8")
    (batch / "d_feed.jsonl").write_text(
        json.dumps({"text": (SEEDS / "001_232d954a2293e5b2.txt").read_text(encoding="utf-8"),
                    "url": "https://example.org/1", "published": "2019-04-05",
                    "source": "Example", "title": "t"}, ensure_ascii=False)
        + "\n{\"url\": \"no text\"}\n", encoding="utf-8")
    db = tmp_path / "bad.gpkg"
    summary = ingest([batch, tmp_path / "missing.txt"], db, gaz)
    reasons = {Path(s.doc.split("#")[0]).name: s.reason for s in summary.skipped}
    assert reasons["a_empty.txt"] == "empty file"
    assert "binary" in reasons["b_binary.txt"]
    assert "invalid JSON" in reasons["c_broken.json"]
    assert "no 'text'" in reasons["d_feed.jsonl"]
    assert "no such file" in reasons["missing.txt"]
    assert summary.new == 30 and summary.unchanged == 1  # the JSONL copy of seed 001
    lines = "\n".join(summary.lines())
    assert "a_empty.txt: empty file" in lines and "skipped: 5" in lines
    clean = tmp_path / "clean.gpkg"
    ingest([corpus], clean, gaz)
    assert snapshot(db) == snapshot(clean)


def test_a_crash_on_one_article_leaves_the_store_as_before_it(corpus, gaz, tmp_path,
                                                              monkeypatch):
    real_insert_control = store_mod._insert_control
    victim = "variant_010.txt"

    def crash_midway(conn, article_id, records, doc, *rest):
        if doc.endswith(victim):  # article row, mentions and events are already written
            raise RuntimeError("disk on fire")
        return real_insert_control(conn, article_id, records, doc)

    monkeypatch.setattr(store_mod, "_insert_control", crash_midway)
    db = tmp_path / "crash.gpkg"
    summary = ingest([corpus], db, gaz)
    assert [Path(f.doc).name for f in summary.failed] == [victim]
    assert "disk on fire" in summary.failed[0].reason
    victim_hash = hashlib.sha256((corpus / victim).read_text(encoding="utf-8")
                                 .encode("utf-8")).hexdigest()
    con = sqlite3.connect(db)
    for table in ("articles", "events", "mentions", "control"):
        col = "id" if table == "articles" else "article_id"
        assert con.execute(f"SELECT count(*) FROM {table} WHERE {col} = ?",
                           (victim_hash,)).fetchone()[0] == 0
    con.close()
    assert summary.new == 29
    monkeypatch.setattr(store_mod, "_insert_control", real_insert_control)
    summary = ingest([corpus], db, gaz)  # the same command again finishes the job
    assert (summary.new, summary.unchanged) == (1, 29)
    clean = tmp_path / "clean.gpkg"
    ingest([corpus], clean, gaz)
    assert snapshot(db) == snapshot(clean)


# -- pipeline versions ---------------------------------------------------------------------------
def test_pipeline_version_comes_from_the_pipeline_when_it_declares_one(monkeypatch):
    monkeypatch.delattr(geo.pipeline, "PIPELINE_VERSION", raising=False)
    assert current_pipeline_version() == store_mod.PIPELINE_VERSION == "1"
    monkeypatch.setattr(geo.pipeline, "PIPELINE_VERSION", "7", raising=False)
    assert current_pipeline_version() == "7"


def test_a_new_pipeline_version_reprocesses_from_stored_text(corpus, gaz, tmp_path,
                                                             monkeypatch):
    work = tmp_path / "articles"
    shutil.copytree(corpus, work)
    db = tmp_path / "v.gpkg"
    monkeypatch.setattr(geo.pipeline, "PIPELINE_VERSION", "1", raising=False)
    ingest([work], db, gaz)
    before = snapshot(db)
    shutil.rmtree(work)  # reprocessing needs no original files

    real_parse = geo.pipeline.parse_article

    def parse_v2(article, gazetteer):  # the new version drops armed clashes
        out = real_parse(article, gazetteer)
        return {**out, "events": [e for e in out["events"] if e["type"] != "armed_clash"]}

    monkeypatch.setattr(geo.pipeline, "PIPELINE_VERSION", "2", raising=False)
    monkeypatch.setattr(geo.pipeline, "parse_article", parse_v2)
    summary = ingest([], db, gaz)  # automatic: the version changed
    assert (summary.new, summary.reprocessed) == (0, 30)
    after = snapshot(db)
    assert {v for _, v in after["articles"]} == {"2"}
    kept = [e for e in before["events"] if e[2] != "armed_clash"]
    assert [e[0] for e in after["events"]] == [e[0] for e in kept]
    assert after["mentions"] == before["mentions"]  # replaced, not duplicated
    with EventStore(db) as st:  # incident links recomputed for what changed
        assert {e[0]: e[1] for e in after["events"]} == all_incidents_from_scratch(st.conn)
    assert ingest([], db, gaz).reprocessed == 0  # and only once


def test_reprocess_flag_processes_every_article_again(clean_store, gaz, tmp_path):
    db = tmp_path / "r.gpkg"
    shutil.copy(clean_store, db)
    before = snapshot(db)
    res = run("ingest", "--reprocess", "--db", db, "-q")
    assert res.exit_code == 0, res.output
    assert "0 new, 0 unchanged, 30 reprocessed" in res.output
    assert snapshot(db) == before  # same pipeline: the same records, replaced


# -- the command line ----------------------------------------------------------------------------
def test_cli_ingest_default_db_summary_and_no_progress_bar_without_tty(corpus, tmp_path,
                                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MARSAD_DB", raising=False)
    (tmp_path / "empty.txt").write_text("")
    res = run("ingest", corpus, tmp_path / "empty.txt")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "events.gpkg").exists()
    assert "30 new, 0 unchanged, 0 reprocessed" in res.output
    assert "empty.txt: empty file" in res.output
    assert "ingesting" not in res.output and "it/s" not in res.output  # no tqdm bar
    res = run("ingest", corpus)
    assert "0 new, 30 unchanged" in res.output and "events: 0 written" in res.output
    monkeypatch.setenv("MARSAD_DB", str(tmp_path / "env.gpkg"))
    res = run("ingest", SEEDS / "001_232d954a2293e5b2.txt")
    assert res.exit_code == 0 and (tmp_path / "env.gpkg").exists()


def test_progress_bar_goes_to_stderr_when_asked(corpus, gaz, tmp_path, capsys):
    with EventStore(tmp_path / "p.gpkg") as st:
        ing = Ingester(st, gaz)
        ing.ingest_paths([corpus], progress=True)
    err = capsys.readouterr().err
    assert "ingesting" in err and "30/30" in err


def test_cli_ingest_fails_when_nothing_can_be_read(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    res = run("ingest", tmp_path / "empty.txt", "--db", tmp_path / "x.gpkg")
    assert res.exit_code == 1
    assert "no article could be read" in res.output
    res = run("ingest", "--db", tmp_path / "x.gpkg")
    assert res.exit_code == 2 and "give files or folders" in res.output


def test_cli_events_formats(clean_store):
    snap = snapshot(clean_store)
    n = len(snap["events"])
    cols = ["id", "incident_id", "type", "family", "date", "date_precision", "place_en",
            "place_ar", "district", "lat", "lon", "geo_precision", "actors", "controller_after",
            "fatalities", "injuries", "confidence", "doc", "url", "source", "sentence"]
    res = run("events", "--db", clean_store, "--format", "json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert len(rows) == n and list(rows[0]) == cols
    assert all(isinstance(r["actors"], list) for r in rows)
    assert any(r["actors"] for r in rows)
    assert {r["id"] for r in rows} == {e[0] for e in snap["events"]}
    assert all(r["source"] == "synthetic" for r in rows if "variant_" in r["doc"])

    res = run("events", "--db", clean_store, "--format", "jsonl")
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert lines == rows

    res = run("events", "--db", clean_store, "--format", "csv")
    table = list(csv.DictReader(io.StringIO(res.stdout)))
    assert len(table) == n and list(table[0]) == cols
    by_id = {r["id"]: r for r in rows}
    for r in table:
        assert r["actors"] == ";".join(by_id[r["id"]]["actors"])
        assert r["sentence"] == by_id[r["id"]]["sentence"]

    res = run("events", "--db", clean_store)
    out = res.stdout.splitlines()
    assert out[0].split()[:3] == ["id", "incident_id", "type"]
    assert out[-1] == f"({n} events)" and len(out) == n + 2
    assert run("events", "--db", clean_store, "--limit", "3", "--format", "json").exit_code == 0


def test_cli_events_without_a_store_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MARSAD_DB", raising=False)
    res = run("events")
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [
        "Error: no event store at events.gpkg; create it with "
        "`marsad ingest ARTICLES --db events.gpkg`"]
    assert "Traceback" not in res.output and not (tmp_path / "events.gpkg").exists()
    (tmp_path / "junk.gpkg").write_bytes(b"junk" * 500)
    res = run("events", "--db", tmp_path / "junk.gpkg")
    assert res.exit_code == 1 and len(res.output.strip().splitlines()) == 1


# -- SIGKILL in the middle of a batch ------------------------------------------------------------
_BLOCKING_DRIVER = """
import sys, time
import geo.store as store

marker, stop_at = sys.argv[1], int(sys.argv[2])
real_connect, real_insert_events = store.connect, store._insert_events
calls = 0

def tiny_cache_connect(path):
    # a tiny page cache makes SQLite write uncommitted pages into the database file itself,
    # so the kill leaves a hot journal that the next connection must roll back
    conn = real_connect(path)
    conn.execute("PRAGMA cache_size=2")
    return conn

def insert_events_then_hang(*args, **kwargs):
    global calls
    out = real_insert_events(*args, **kwargs)
    calls += 1
    if calls == stop_at:  # inside the transaction of article number stop_at
        open(marker, "w").close()
        while True:
            time.sleep(60)
    return out

store.connect = tiny_cache_connect
store._insert_events = insert_events_then_hang
from geo.cli import main
sys.exit(main(sys.argv[3:], prog_name="marsad"))
"""


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _wait_for(cond, proc, what, limit=300):
    deadline = time.monotonic() + limit
    while not cond():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)
    return True


def _committed_articles(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.5)
        try:
            return con.execute("SELECT count(*) FROM articles").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("big") / "articles", 195, seed=11)


@pytest.fixture(scope="module")
def big_clean(big_corpus, tmp_path_factory):
    db = tmp_path_factory.mktemp("bigclean") / "clean.gpkg"
    cmd = [sys.executable, "-m", "geo.cli", "ingest", str(big_corpus), "--db", str(db), "-q"]
    done = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "200 new" in done.stdout
    return db


def test_sigkill_inside_a_transaction_then_resume_equals_a_clean_ingest(big_corpus, big_clean,
                                                                        tmp_path):
    db = tmp_path / "killed.gpkg"
    marker = tmp_path / "hanging"
    args = ["ingest", str(big_corpus), "--db", str(db), "-q"]
    proc = subprocess.Popen([sys.executable, "-c", _BLOCKING_DRIVER, str(marker), "21", *args],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        reached = _wait_for(marker.exists, proc, "the 21st article")
        assert reached, proc.communicate()[1].decode()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert Path(f"{db}-journal").exists()  # killed holding an open transaction
    with EventStore(db) as st:  # opening rolls the unfinished article back
        assert st.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert st.count("articles") == 20
        fids = {r[0] for r in st.conn.execute("SELECT fid FROM events")}
        tree = {r[0] for r in st.conn.execute("SELECT id FROM rtree_events_geom")}
        assert fids == tree
    resumed = subprocess.run([sys.executable, "-m", "geo.cli", *args], cwd=ROOT, env=_env(),
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert "180 new, 20 unchanged" in resumed.stdout
    got, want = snapshot(db), snapshot(big_clean)
    assert [e[0] for e in got["events"]] == [e[0] for e in want["events"]]
    assert got == want


def test_sigkill_of_a_plain_marsad_ingest_then_resume(big_corpus, big_clean, tmp_path):
    """No hooks: kill the real command once it has committed articles (wherever it is then);
    the outcome must not depend on where the kill lands."""
    db = tmp_path / "killed.gpkg"
    cmd = [sys.executable, "-m", "geo.cli", "ingest", str(big_corpus), "--db", str(db), "-q"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: _committed_articles(db) >= 5, proc, "the first commits")
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    resumed = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert snapshot(db) == snapshot(big_clean)


def test_json_articles_keep_their_metadata(gaz, tmp_path):
    text = (SEEDS / "002_12c0d87ce288ddf3.txt").read_text(encoding="utf-8")
    records = [{"text": text, "url": "https://example.org/a", "published": "2017-03-20",
                "source": "Example News", "title": "اقتحام"},
               {"text": text + "\nتحديث.", "url": "https://example.org/b",
                "published": "2017-03-21", "source": "Other", "title": "تحديث"}]
    (tmp_path / "feed.json").write_text(json.dumps(records, ensure_ascii=False),
                                        encoding="utf-8")
    db = tmp_path / "j.gpkg"
    summary = ingest([tmp_path / "feed.json"], db, gaz)
    assert summary.new == 2
    con = sqlite3.connect(db)
    stored = con.execute("SELECT doc, url, source, title, published, text FROM articles "
                         "ORDER BY fid").fetchall()
    assert [r[1:5] for r in stored] == [(r["url"], r["source"], r["title"], r["published"])
                                        for r in records]
    assert stored[0][0].endswith("feed.json#1") and stored[0][5] == text
    urls = {r[0] for r in con.execute("SELECT DISTINCT url FROM events")}
    assert urls == {"https://example.org/a", "https://example.org/b"}
    con.close()


def test_cli_ingest_exits_1_when_an_article_fails(corpus, tmp_path, monkeypatch):
    real_parse = geo.pipeline.parse_article

    def flaky(article, gazetteer):
        if article.doc.endswith("variant_003.txt"):
            raise ValueError("unexpected token")
        return real_parse(article, gazetteer)

    monkeypatch.setattr(geo.pipeline, "parse_article", flaky)
    res = run("ingest", corpus, "--db", tmp_path / "f.gpkg")
    assert res.exit_code == 1
    assert "variant_003.txt: error while processing: ValueError: unexpected token" in res.output
    assert "29 new" in res.output and "Traceback" not in res.output


def test_events_get_their_district_by_spatial_join_at_ingest(gaz, tmp_path):
    """The stored district is the polygon the event's point lies in, not the one the pipeline
    (the gazetteer record) says; area-only events keep the district they stand for, and a
    region wider than one district gets none."""
    from geo.ingest import Ingester
    from geo.regions import assign_districts, load_regions
    from geo.store import EventStore

    airport = gaz.get("marsad:tripoli-international-airport")  # in Jafara (LY-JI)
    events = [
        {"id": "a", "lon": airport.lon, "lat": airport.lat, "geo_precision": 1,
         "place_id": airport.id, "district": "LY-TB"},
        {"id": "b", "lon": 16.0, "lat": 29.0, "geo_precision": 3, "place_id": "iso:LY-JU",
         "district": "LY-JU"},
        {"id": "c", "lon": 15.0, "lat": 26.5, "geo_precision": 3, "place_id": "marsad:fezzan",
         "district": "LY-SB"},
    ]
    assign_districts(events, load_regions(), gaz)
    assert [e["district"] for e in events] == ["LY-JI", "LY-JU", None]

    with EventStore(tmp_path / "x.gpkg") as store:
        ing = Ingester(store, gaz)
        parsed = ing.prepare({"events": [dict(events[0], district="LY-TB")]})
        assert parsed["events"][0]["district"] == "LY-JI"
