"""The GeoPackage event store: format (read back by GDAL/pyogrio), R-tree index, transactions and
incident links."""

import sqlite3
import struct

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point

from geo import store as store_mod
from geo.articles import Article, read_articles
from geo.events import content_hash
from geo.pipeline import parse_article
from geo.store import (EventStore, StoreError, all_incidents_from_scratch, default_db_path,
                       gpkg_bounds, gpkg_point)

from conftest import ROOT


@pytest.fixture(scope="module")
def seed_results(gaz):
    return [(a, parse_article(a, gaz)) for a in read_articles([ROOT / "seeds"])]


@pytest.fixture
def seeded(tmp_path, seed_results):
    db = tmp_path / "events.gpkg"
    with EventStore(db) as st:
        for article, parsed in seed_results:
            st.write_article(content_hash(article.text), article, parsed, "1")
    return db


def table_dump(db, table):
    con = sqlite3.connect(db)
    try:
        return con.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    finally:
        con.close()


def rtree_matches_table(db, table):
    con = store_mod.connect(db)
    try:
        rows = con.execute(f"SELECT fid, geom FROM {table}").fetchall()
        tree = {r[0]: r[1:] for r in con.execute(f"SELECT * FROM rtree_{table}_geom")}
    finally:
        con.close()
    assert set(tree) == {fid for fid, _ in rows}
    for fid, blob in rows:
        minx, maxx, miny, maxy = gpkg_bounds(blob)
        tminx, tmaxx, tminy, tmaxy = tree[fid]  # float32 boxes are rounded outwards
        assert tminx <= minx <= maxx <= tmaxx and tminy <= miny <= maxy <= tmaxy
    return len(rows)


# -- geometry blobs ------------------------------------------------------------------------------
def test_gpkg_point_has_the_standard_header_and_little_endian_wkb():
    blob = gpkg_point(13.18, 32.89)
    assert blob[:2] == b"GP" and blob[2] == 0  # magic, version 0
    assert blob[3] == 0b0000_0001  # little-endian, no envelope, not empty
    assert struct.unpack("<i", blob[4:8])[0] == 4326
    assert blob[8] == 1  # WKB byte order: little-endian
    assert shapely.from_wkb(blob[8:]).equals(Point(13.18, 32.89))
    assert gpkg_bounds(blob) == (13.18, 13.18, 32.89, 32.89)


def test_gpkg_bounds_reads_an_envelope_and_knows_empty_geometries():
    env = struct.pack("<4d", 1.0, 2.0, 3.0, 4.0)
    blob = b"GP" + bytes((0, 0b0000_0011)) + struct.pack("<i", 4326) + env + \
        shapely.to_wkb(Point(1.5, 3.5), byte_order=1)
    assert gpkg_bounds(blob) == (1.0, 2.0, 3.0, 4.0)
    empty = b"GP" + bytes((0, 0b0001_0001)) + struct.pack("<i", 4326) + \
        shapely.to_wkb(Point(), byte_order=1)
    assert gpkg_bounds(empty) is None
    assert gpkg_bounds(None) is None


# -- the GeoPackage itself -----------------------------------------------------------------------
def test_new_store_is_a_geopackage_1_3(tmp_path):
    db = tmp_path / "new.gpkg"
    EventStore(db).close()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
    assert con.execute("PRAGMA user_version").fetchone()[0] == 10300
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    srs = {r[0] for r in con.execute("SELECT srs_id FROM gpkg_spatial_ref_sys")}
    assert srs == {-1, 0, 4326}
    contents = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents"))
    assert contents == {"articles": "attributes", "events": "features",
                        "mentions": "features", "control": "features"}
    geoms = con.execute("SELECT table_name, column_name, geometry_type_name, srs_id, z, m "
                        "FROM gpkg_geometry_columns ORDER BY table_name").fetchall()
    assert geoms == [(t, "geom", "POINT", 4326, 0, 0) for t in ("control", "events", "mentions")]
    ext = con.execute("SELECT table_name, column_name, extension_name, scope "
                      "FROM gpkg_extensions ORDER BY table_name").fetchall()
    assert ext == [(t, "geom", "gpkg_rtree_index", "write-only")
                   for t in ("control", "events", "mentions")]
    con.close()
    pyogrio.read_info(db, layer="events")  # GDAL opens an empty store


def test_gdal_reads_the_events_back(seeded, seed_results):
    n_events = sum(len({e["id"] for e in p["events"]}) for _, p in seed_results)
    assert n_events > 10
    layers = dict(pyogrio.list_layers(seeded))
    assert {"events", "mentions", "control"} <= set(layers)
    assert layers["events"] == "Point"
    gdf = gpd.read_file(seeded, layer="events")
    assert len(gdf) == n_events
    assert gdf.crs.to_epsg() == 4326
    assert (gdf.geometry.x - gdf["lon"]).abs().max() < 1e-9
    assert (gdf.geometry.y - gdf["lat"]).abs().max() < 1e-9
    expected = {e["id"]: (e["lon"], e["lat"]) for _, p in seed_results for e in p["events"]}
    for _, row in gdf.iterrows():
        assert (row.geometry.x, row.geometry.y) == pytest.approx(expected[row["id"]])
    tripoli = gdf[gdf["place_en"] == "Tripoli"]
    assert len(tripoli) and tripoli.geometry.x.between(13.1, 13.3).all()
    mentions = gpd.read_file(seeded, layer="mentions")
    assert len(mentions) == sum(len(p["places"]) for _, p in seed_results)
    info = pyogrio.read_info(seeded, layer="events")
    assert info["fid_column"] == "fid" and info["geometry_name"] == "geom"
    assert info["capabilities"]["fast_spatial_filter"]  # GDAL found the R-tree index
    articles = pyogrio.read_dataframe(seeded, layer="articles")
    assert len(articles) == 5 and articles["text"].str.len().min() > 100


def test_spatial_filter_through_gdal_uses_the_index(seeded):
    benghazi = gpd.read_file(seeded, layer="events", bbox=(19.9, 32.0, 20.3, 32.2))
    assert len(benghazi) and (benghazi["place_en"].str.contains("Benghazi")).any()
    assert benghazi.geometry.x.between(19.9, 20.3).all()


def test_rtree_follows_every_insert_and_delete(seeded, seed_results):
    for table in ("events", "mentions", "control"):
        rtree_matches_table(seeded, table)
    article, parsed = seed_results[1]
    with EventStore(seeded) as st:  # reprocess with fewer events: deletes go through triggers
        st.write_article(content_hash(article.text), article,
                         {**parsed, "events": parsed["events"][:2], "places": []}, "2")
    for table in ("events", "mentions", "control"):
        rtree_matches_table(seeded, table)


def test_an_edit_made_with_gdal_keeps_the_index_right(seeded):
    """QGIS writes through GDAL, which provides the ST_* functions the triggers call."""
    row = gpd.GeoDataFrame({"id": ["qgis-edit"], "article_id": ["manual"], "family": ["fight"]},
                           geometry=[Point(15.0, 30.0)], crs=4326)
    pyogrio.write_dataframe(row, seeded, layer="events", append=True)
    n = rtree_matches_table(seeded, "events")
    assert n == len(gpd.read_file(seeded, layer="events"))


def test_layer_extents_cover_every_point(seeded):
    con = sqlite3.connect(seeded)
    for table in ("events", "mentions", "control"):
        minx, miny, maxx, maxy = con.execute(
            "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?",
            (table,)).fetchone()
        lo_x, lo_y, hi_x, hi_y = gpd.read_file(seeded, layer=table).total_bounds
        assert (minx, miny, maxx, maxy) == pytest.approx((lo_x, lo_y, hi_x, hi_y))
    con.close()


def test_a_stored_article_is_left_alone_unless_replaced(seeded, seed_results):
    article, parsed = seed_results[0]
    before = table_dump(seeded, "events")
    with EventStore(seeded) as st:
        res = st.write_article(content_hash(article.text), article, {**parsed, "events": []},
                               "1", replace=False)
    assert res.status == "unchanged" and table_dump(seeded, "events") == before


def test_write_article_is_one_transaction(seeded, seed_results, gaz, monkeypatch):
    before = {t: table_dump(seeded, t) for t in ("articles", "events", "mentions", "control",
                                                 "rtree_events_geom")}
    art = Article("new.txt", seed_results[0][0].text + "\nخبر إضافي.",
                  published="2014-05-18")
    parsed = parse_article(art, gaz)
    assert parsed["events"] and parsed["places"]

    def boom(*args, **kwargs):
        raise RuntimeError("crash after the events were written")

    monkeypatch.setattr(store_mod, "recompute_incidents", boom)
    with EventStore(seeded) as st, pytest.raises(RuntimeError):
        st.write_article(content_hash(art.text), art, parsed, "1")
    after = {t: table_dump(seeded, t) for t in before}
    assert after == before


def test_not_a_store_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a usable GeoPackage"):
        EventStore(junk)
    with pytest.raises(StoreError, match="no event store"):
        EventStore(tmp_path / "missing.gpkg", create=False)
    assert not (tmp_path / "missing.gpkg").exists()
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="did not create"):
        EventStore(other)


def test_default_db_path(monkeypatch):
    monkeypatch.delenv("MARSAD_DB", raising=False)
    assert str(default_db_path()) == "events.gpkg"
    monkeypatch.setenv("MARSAD_DB", "/data/libya.gpkg")
    assert str(default_db_path()) == "/data/libya.gpkg"


# -- incidents -----------------------------------------------------------------------------------
def _event(eid, *, lat=32.12, lon=20.08, day="2014-05-16", family="fight", type_="armed_clash",
           actors=()):
    return {"id": eid, "type": type_, "family": family, "lat": lat, "lon": lon,
            "place_id": "p", "place_en": "Benghazi", "place_ar": "بنغازي",
            "district": "LY-BA",
            "geo_precision": 1, "in_libya": True, "actors": list(actors),
            "controller_after": None, "date": day, "date_precision": "day", "fatalities": None,
            "injuries": None, "sentence": "s", "start": 0, "end": 1, "confidence": 0.9}


def _put(st, name, events, version="1"):
    art = Article(name, f"نص {name}", published="2014-05-16")
    st.write_article(content_hash(art.text), art, {"places": [], "events": events,
                                                   "control": []}, version)


def _incidents(db):
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("SELECT id, incident_id FROM events"))
    finally:
        con.close()


def test_reports_of_one_incident_share_the_smallest_event_id(tmp_path):
    db = tmp_path / "inc.gpkg"
    with EventStore(db) as st:
        _put(st, "a", [_event("e3", actors=["LNA"])])
        _put(st, "b", [_event("e2", lat=32.14, day="2014-05-17", actors=["LNA", "BRSC"])])
        _put(st, "c", [_event("e9", lon=20.10, actors=[])])  # no actors: compatible
        _put(st, "d", [_event("x1", actors=["GNA"])])  # other actors
        _put(st, "e", [_event("x2", family="remote", type_="airstrike")])  # other family
        _put(st, "f", [_event("x3", day="2014-05-19")])  # 3 days later
        _put(st, "g", [_event("x4", lat=32.20)])  # ~9 km north
        _put(st, "h", [_event("x5", lat=32.12), _event("x6", lat=32.121)])  # same article
    inc = _incidents(db)
    assert inc["e3"] == inc["e2"] == inc["e9"] == "e2"
    # x1 is incompatible with e3 and e2 but e9 has no actors, so it joins through e9
    assert inc["x1"] == "e2"
    assert inc["x2"] == "x2" and inc["x3"] == "x3" and inc["x4"] == "x4"
    assert inc["x5"] == "e2" and inc["x6"] == "e2"  # each links to the other articles' reports
    with EventStore(db) as st:
        assert inc == all_incidents_from_scratch(st.conn)
        assert st.count("events") == 9  # every report stays


def test_incidents_split_again_when_a_report_is_reprocessed_away(tmp_path):
    db = tmp_path / "inc.gpkg"
    with EventStore(db) as st:
        _put(st, "a", [_event("e5", actors=["LNA"])])
        _put(st, "b", [_event("e1", actors=[])])  # bridges the two others
        _put(st, "c", [_event("e7", actors=["GNA"])])
    assert set(_incidents(db).values()) == {"e1"}
    with EventStore(db) as st:
        _put(st, "b", [], version="2")  # the new pipeline finds no event in b
        assert _incidents(db) == {"e5": "e5", "e7": "e7"} == all_incidents_from_scratch(st.conn)


def test_incidents_do_not_depend_on_ingest_order(tmp_path):
    evs = [("a", _event("k4", actors=["LNA"])), ("b", _event("k2", lon=20.11, day="2014-05-17")),
           ("c", _event("k9", lon=20.14, day="2014-05-18", actors=["GNA"])),
           ("d", _event("k1", lon=20.20))]
    results = []
    for order in (evs, evs[::-1], evs[1::2] + evs[0::2]):
        db = tmp_path / f"order{len(results)}.gpkg"
        with EventStore(db) as st:
            for name, ev in order:
                _put(st, name, [ev])
        results.append(_incidents(db))
    assert results[0] == results[1] == results[2]
    assert results[0]["k4"] == results[0]["k2"] == results[0]["k9"] == "k2"
