"""The event store's contract, run against both backends with the same expectations: a GeoPackage
file and a PostGIS database (a throwaway PostgreSQL server, tests/conftest.py).

Ingest is idempotent and transactional, reprocessing replaces an article's rows, incident
links equal a from-scratch computation, `events`/`export`/`map`/`control` read the same rows,
and text that looks like SQL is bound as data, never interpolated. The query tests
(tests/test_query.py) are parametrized over both backends in the same way."""

import json
import threading

import geopandas as gpd
import pytest
from click.testing import CliRunner

from geo import store as store_mod
from geo.articles import Article, read_articles
from geo.cli import main
from geo.events import content_hash
from geo.ingest import Ingester, ingest
from geo.pipeline import parse_article
from geo.store import StoreError, all_incidents_from_scratch, open_store

from conftest import ROOT

BACKENDS = ["gpkg", "postgis"]
TABLES = ("articles", "events", "mentions", "control")
# Columns that differ between two ingests of the same articles (row numbers, clocks).
VOLATILE = {"fid", "ingested_at", "processed_at"}


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path):
    """A store location that does not exist yet: a .gpkg path or a fresh PostGIS database."""
    if request.param == "gpkg":
        return tmp_path / "events.gpkg"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="module")
def seed_results(gaz):
    return [(a, parse_article(a, gaz)) for a in read_articles([ROOT / "seeds"])]


def rows(db, table):
    """Every row of `table` without volatile columns, as sorted JSON strings (comparable across
    backends: dates and timestamps come back as ISO strings from both)."""
    with open_store(db, create=False) as st:
        got = st.select(f"SELECT * FROM {table}")
    out = []
    for r in got:
        r = {k: v for k, v in r.items() if k not in VOLATILE and k != "geom"}
        if "in_libya" in r and r["in_libya"] is not None:
            r["in_libya"] = bool(r["in_libya"])
        out.append(json.dumps(r, sort_keys=True, ensure_ascii=False, default=str))
    return sorted(out)


def points(db, table):
    with open_store(db, create=False) as st:
        return sorted((round(r["x"], 9), round(r["y"], 9)) for r in st.select(
            f"SELECT ST_X(geom) AS x, ST_Y(geom) AS y FROM {table}"))


def seed(db, gaz):
    return ingest([ROOT / "seeds"], db, gaz)


@pytest.fixture(scope="module")
def n_seed_events(seed_results):
    """Events the pipeline finds in the seeds (distinct ids per article)."""
    return sum(len({e["id"] for e in parsed["events"]}) for _, parsed in seed_results)


def test_ingest_is_idempotent(db, gaz, n_seed_events):
    first = seed(db, gaz)
    assert first.new == 5 and first.events_added == n_seed_events > 0
    before = {t: rows(db, t) for t in TABLES}
    again = seed(db, gaz)
    assert again.new == 0 and again.unchanged == 5 and again.events_added == 0
    assert {t: rows(db, t) for t in TABLES} == before


def test_both_backends_store_the_same_rows(gaz, tmp_path, pg_url):
    gpkg = tmp_path / "events.gpkg"
    seed(gpkg, gaz)
    seed(pg_url, gaz)
    for t in TABLES:
        assert rows(gpkg, t) == rows(pg_url, t), t
    for t in TABLES[1:]:
        assert points(gpkg, t) == points(pg_url, t), t


def test_a_crash_inside_an_article_leaves_the_store_as_before(db, gaz, seed_results,
                                                              monkeypatch):
    seed(db, gaz)
    before = {t: rows(db, t) for t in TABLES}
    art = Article("new.txt", seed_results[0][0].text + "\nخبر إضافي.", published="2014-05-18")
    parsed = parse_article(art, gaz)
    assert parsed["events"] and parsed["control"] is not None

    def boom(*args, **kwargs):
        raise RuntimeError("crash after the events were written")

    monkeypatch.setattr(store_mod, "recompute_incidents", boom)
    with open_store(db) as st, pytest.raises(RuntimeError):
        st.write_article(content_hash(art.text), art, parsed, "1")
    assert {t: rows(db, t) for t in TABLES} == before


def test_reprocess_replaces_an_articles_rows(db, gaz, seed_results):
    seed(db, gaz)
    article, parsed = seed_results[0]
    aid = content_hash(article.text)
    n_events = len(rows(db, "events"))
    with open_store(db) as st:
        res = st.write_article(aid, article, {**parsed, "events": parsed["events"][:1]}, "2")
        assert res.status == "reprocessed"
        assert st.article_version(aid) == "2"
        assert [a.id for a in st.stored_articles("1")] == [aid]
    assert len(rows(db, "events")) == n_events - res.events_removed + 1
    # the next ingest (pipeline version "1") processes it again and restores the rows
    summary = seed(db, gaz)
    assert summary.reprocessed == 1 and len(rows(db, "events")) == n_events


def test_incidents_equal_a_from_scratch_computation(db, gaz):
    """Two outlets reporting the same clash: linked into one incident on both backends."""
    text = "اندلعت اشتباكات عنيفة بين قوات حفتر وقوات الوفاق في منطقة عين زارة جنوب طرابلس اليوم."
    docs = [Article(f"outlet{i}.txt", text + " " * i, published="2019-04-10") for i in range(3)]
    with open_store(db) as st:
        ing = Ingester(st, gaz)
        for a in docs:
            assert ing.add(a) == "new"
        stored = st.events()
        scratch = all_incidents_from_scratch(st.conn)
    assert len(stored) == 3 and len({e["incident_id"] for e in stored}) == 1
    assert {e["id"]: e["incident_id"] for e in stored} == scratch


def test_missing_store_is_a_clear_error(db):
    with pytest.raises(StoreError, match="no event store|not a Marsad event store"):
        open_store(db, create=False)


def test_sql_looking_text_is_data(db, gaz):
    nasty = "'); DROP TABLE events; -- \" %s ? $1"
    art = Article(nasty, "اشتباكات في سرت اليوم بين قوات الوفاق وتنظيم داعش. " + nasty,
                  url=nasty, source=nasty, title=nasty, published="2016-06-01")
    with open_store(db) as st:
        assert Ingester(st, gaz).add(art) == "new"
        assert st.select("SELECT doc, url FROM articles WHERE doc = ?", (nasty,)) == [
            {"doc": nasty, "url": nasty}]
        assert st.count("events") >= 1
    r = CliRunner().invoke(main, ["query", "--db", str(db), "--region", nasty])
    assert r.exit_code == 2 and "unknown region" in r.output
    with open_store(db, create=False) as st:
        assert st.count("events") >= 1


def test_cli_reads_either_backend(db, gaz, tmp_path, n_seed_events):
    seed(db, gaz)
    run = CliRunner().invoke
    r = run(main, ["events", "--db", str(db), "--format", "jsonl"])
    assert r.exit_code == 0, r.output
    assert len(r.stdout.splitlines()) == n_seed_events
    r = run(main, ["control", "--db", str(db), "--format", "json"])
    assert r.exit_code == 0, r.output
    assert any(h["faction"] for h in json.loads(r.stdout))
    out = tmp_path / "e.geojson"
    r = run(main, ["export", "--db", str(db), "--format", "geojson", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert len(gpd.read_file(out)) == n_seed_events
    gp = tmp_path / "e.gpkg"
    r = run(main, ["export", "--db", str(db), "--format", "gpkg", "-o", str(gp)])
    assert r.exit_code == 0, r.output
    assert len(gpd.read_file(gp, layer="places")) > 0
    html = tmp_path / "m.html"
    r = run(main, ["map", "--db", str(db), "-o", str(html)])
    assert r.exit_code == 0, r.output
    assert "بنغازي" in html.read_text(encoding="utf-8")


def test_bad_postgres_url_is_one_line(tmp_path):
    r = CliRunner().invoke(main, ["events", "--db", "postgresql://nobody:secret@127.0.0.1:1/x"])
    assert r.exit_code == 1
    assert "cannot connect" in r.output and "secret" not in r.output
    assert "Traceback" not in r.output


def test_postgis_layout(pg_url, gaz, n_seed_events):
    seed(pg_url, gaz)
    with open_store(pg_url) as st:
        idx = {r["indexname"] for r in st.select(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}
        cols = {(r["table_name"], r["column_name"]): r["udt_name"] for r in st.select(
            "SELECT table_name, column_name, udt_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()")}
        srid = st.select("SELECT DISTINCT ST_SRID(geom) AS srid FROM events")
    assert {"events_geom_gist", "mentions_geom_gist", "control_geom_gist"} <= idx
    assert cols[("events", "geom")] == "geometry" and cols[("events", "date")] == "date"
    assert srid == [{"srid": 4326}]
    # geometry_columns is what QGIS lists the layers from
    with open_store(pg_url) as st:
        layers = {(r["f_table_name"], r["type"], r["srid"]) for r in st.select(
            "SELECT f_table_name, type, srid FROM geometry_columns "
            "WHERE f_table_schema = current_schema()")}
    assert layers == {(t, "POINT", 4326) for t in ("events", "mentions", "control")}


def test_concurrent_writers_store_each_article_once(pg_url, gaz, seed_results, n_seed_events):
    """Two analysts ingesting the same articles at once into one PostGIS store."""
    open_store(pg_url).close()  # schema first
    errors = []

    def work():
        try:
            with open_store(pg_url) as st:
                ing = Ingester(st, gaz)
                for article, _ in seed_results:
                    ing.add(article)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with open_store(pg_url) as st:
        assert st.count("articles") == 5 and st.count("events") == n_seed_events



def test_records_without_coordinates_are_refused_whole(db):
    """A caller's own parsed dict with an event lacking coordinates: a clear error, and the
    store keeps what it had (the article is not half-written)."""
    from geo.articles import Article
    from geo.store import StoreError, open_store

    def event(eid, lon, lat):
        return {"id": eid, "lon": lon, "lat": lat, "type": "armed_clash", "family": "fight",
                "actors": [], "start": 0, "end": 1}

    with open_store(db) as store:
        store.write_article("a1", Article("a1.txt", "x"), {"events": [event("e1", 13.2, 32.9)]},
                            "test")
        for lon, lat in ((None, None), (float("nan"), 32.0), ("13.2", 32.0)):
            with pytest.raises(StoreError, match="no usable coordinates"):
                store.write_article("a2", Article("a2.txt", "y"),
                                    {"events": [event("ok", 13.2, 32.9), event("bad", lon, lat)]},
                                    "test")
        assert [e["id"] for e in store.events()] == ["e1"]
        assert store.count("articles") == 1
