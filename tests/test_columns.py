"""geo/columns.py: the columnar copy of a GeoPackage store's events that big queries read.

It is a cache, so what matters is that it is never stale (every kind of write to the store, by
Marsad or another program, shows in the next query), that a damaged or unwritable cache costs
speed but never an answer, and that queries answer exactly as they do from the store itself."""

import sqlite3
import warnings

import numpy as np
import pandas as pd
import pytest

from geo import columns
from geo.articles import Article
from geo.columns import event_columns
from geo.query import query_events
from geo.store import EVENT_BLOCK_BITS, EventStore, gpkg_point, open_store


def _event(eid, lon, lat, **kw):
    ev = {"id": eid, "lon": lon, "lat": lat, "place_id": None, "place_en": eid,
          "district": "LY-TB", "type": "armed_clash", "family": "fight", "date": "2019-04-10",
          "actors": ["LNA"], "confidence": 0.9, "geo_precision": 1, "in_libya": True,
          "start": 0, "end": 1}
    ev.update(kw)
    return ev


def _write(db, article_id, events):
    with open_store(db) as store:
        store.write_article(article_id, Article(f"{article_id}.txt", article_id),
                            {"events": events}, "test")


def _copy(db):
    """The copy, in fid order (blocks keep their rows in grid-cell order)."""
    with EventStore(db, create=False) as store:
        table = event_columns(store)
    return None if table is None else table.sort_by("fid")


def _sql_ids(db):
    with EventStore(db, create=False) as store:
        return [r[0] for r in store.conn.execute("SELECT id FROM events ORDER BY fid")]


def _files():
    return sorted(p.name for p in columns.cache_root().glob("columns/*/*.arrow"))


@pytest.fixture
def always(monkeypatch):
    """Copy every store, whatever its size."""
    monkeypatch.setattr(columns, "MIN_EVENTS", 0)


def test_small_stores_are_read_directly(tmp_path):
    db = tmp_path / "s.gpkg"
    _write(db, "a1", [_event("e1", 13.18, 32.88)])
    assert _copy(db) is None
    assert _files() == []


def test_copy_follows_every_write(tmp_path, always):
    db = tmp_path / "s.gpkg"
    _write(db, "a1", [_event("e1", 13.18, 32.88), _event("e2", 13.2, 32.9)])
    t = _copy(db)
    assert t.column("id").to_pylist() == ["e1", "e2"] == _sql_ids(db)
    first = _files()
    assert len(first) == 1

    _write(db, "a2", [_event("e3", 15.0, 29.1, district="LY-JU")])  # an insert
    t = _copy(db)
    assert t.column("id").to_pylist() == ["e1", "e2", "e3"]
    assert len(_files()) == 1 and _files() != first  # the old version is gone

    with EventStore(db, create=False) as store:  # an update (as `marsad query --rejoin`)
        fid = store.conn.execute("SELECT fid FROM events WHERE id = 'e2'").fetchone()[0]
        store.update_districts([("LY-JI", fid)])
    assert dict(zip(*_copy(db).select(["id", "district"]).to_pydict().values()))["e2"] == "LY-JI"

    # a delete by another program (plain SQL, as QGIS or sqlite3 would do it)
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM events WHERE id = 'e1'")
    conn.commit()
    conn.close()
    assert _copy(db).column("id").to_pylist() == ["e2", "e3"] == _sql_ids(db)


def test_only_changed_blocks_are_rebuilt(tmp_path, always):
    db = tmp_path / "s.gpkg"
    _write(db, "a1", [_event("e1", 13.18, 32.88)])
    far = 2 << EVENT_BLOCK_BITS  # a fid two blocks further on
    with EventStore(db, create=False) as store, store.transaction() as conn:
        conn.execute("INSERT INTO events (fid, geom, id, article_id, lon, lat, geo_precision) "
                     "VALUES (?, ?, 'far', 'a1', 14.0, 32.0, 1)", (far, gpkg_point(14.0, 32.0)))
    assert _copy(db).column("id").to_pylist() == ["e1", "far"]
    before = _files()
    assert len(before) == 2
    with EventStore(db, create=False) as store, store.transaction() as conn:
        conn.execute("UPDATE events SET type = 'airstrike' WHERE id = 'far'")
    t = _copy(db)
    after = _files()
    assert t.column("type").to_pylist() == ["armed_clash", "airstrike"]
    assert before[0] == after[0] and before[1] != after[1]  # block 0 kept, block 2 rebuilt


def test_a_new_store_at_the_same_path_is_not_served_the_old_copy(tmp_path, always):
    db = tmp_path / "s.gpkg"
    _write(db, "a1", [_event("old", 13.18, 32.88)])
    assert _copy(db).column("id").to_pylist() == ["old"]
    db.unlink()
    _write(db, "a1", [_event("new", 13.18, 32.88)])  # same path, same fids, other events
    assert _copy(db).column("id").to_pylist() == ["new"]


def test_damaged_file_is_rebuilt(tmp_path, always):
    db = tmp_path / "s.gpkg"
    _write(db, "a1", [_event("e1", 13.18, 32.88), _event("e2", 13.2, 32.9)])
    _copy(db)
    (f,) = columns.cache_root().glob("columns/*/*.arrow")
    f.write_bytes(f.read_bytes()[:100])
    assert _copy(db).column("id").to_pylist() == ["e1", "e2"]
    assert f.stat().st_size > 100


def test_unusable_cache_warns_and_the_query_still_answers(tmp_path, always, monkeypatch, gaz):
    db = tmp_path / "s.gpkg"
    _write(db, "a1", [_event("e1", 13.18, 32.88)])
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv(columns.CACHE_ENV, str(blocker / "cache"))  # under a file: no mkdir
    with pytest.warns(UserWarning, match="query cache not used"):
        assert _copy(db) is None
    with pytest.warns(UserWarning):
        assert list(query_events(db, gazetteer=gaz, bbox="13,32,14,33")["id"]) == ["e1"]
    monkeypatch.setenv(columns.CACHE_ENV, "off")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _copy(db) is None


def test_store_made_before_the_block_table_gets_it(tmp_path, always):
    db = tmp_path / "s.gpkg"
    _write(db, "a1", [_event("e1", 13.18, 32.88)])
    conn = sqlite3.connect(db)
    conn.executescript("DROP TRIGGER marsad_event_blocks_insert; "
                       "DROP TRIGGER marsad_event_blocks_update; "
                       "DROP TRIGGER marsad_event_blocks_delete; "
                       "DROP TABLE marsad_event_blocks;")
    conn.close()
    assert _copy(db).column("id").to_pylist() == ["e1"]  # opening the store adds the table
    _write(db, "a2", [_event("e2", 13.2, 32.9)])  # and its triggers
    assert _copy(db).column("id").to_pylist() == ["e1", "e2"]


def test_values_stored_by_other_programs(tmp_path, always):
    """Columns hold whatever another program wrote: numbers as text, text as numbers."""
    db = tmp_path / "s.gpkg"
    _write(db, "a1", [_event("e1", 13.18, 32.88)])
    with EventStore(db, create=False) as store, store.transaction() as conn:
        conn.execute("INSERT INTO events (geom, id, article_id, lon, lat, geo_precision, "
                     "confidence, district, fatalities, place_en) VALUES "
                     "(?, 'odd', 'a1', 13.3, 32.8, '2', 'high', 7, 2.5, X'C3A9')",
                     (gpkg_point(13.3, 32.8),))
    row = _copy(db).to_pylist()[1]
    assert (row["geo_precision"], row["confidence"], row["district"], row["fatalities"],
            row["place_en"]) == (2, None, "7", None, "é")


def _mixed_store(db, gaz, n=1500, seed=5):
    """Events of every kind a query distinguishes: points, area-only, at the city of Tripoli,
    undated, several actors and types, with and without casualties."""
    rng = np.random.default_rng(seed)
    district, city = gaz.get("iso:LY-TB"), gaz.get("osm:n1699640925")
    evs = []
    for i in range(n):
        area = i % 40 == 0  # stored at their area's point, as the pipeline does
        at = district if area else city if i % 9 == 0 else None
        evs.append(_event(
            f"m{rng.integers(10**6):06d}-{i}",
            at.lon if at else float(rng.uniform(12.8, 13.8)),
            at.lat if at else float(rng.uniform(32.3, 33.0)),
            place_id=at.id if at else None, geo_precision=3 if area else 1,
            date=None if i % 97 == 0 else f"2019-{1 + i % 12:02d}-{1 + i % 28:02d}",
            type=["armed_clash", "airstrike", "protest"][i % 3],
            family=["fight", "remote", "protest"][i % 3],
            actors=[["LNA"], ["GNA", "LNA"], []][i % 3], confidence=round(0.3 + i % 7 / 10, 2),
            fatalities=None if i % 5 else i % 4))
    _write(db, "mixed", evs)


@pytest.mark.parametrize("kwargs", [
    {"region": "LY-TB"}, {"bbox": "12.9,32.4,13.5,32.9"}, {"near": "32.8,13.2", "km": 20},
    {"region": "Tripoli", "region_kind": "city"},
    {"region": "LY-TB", "factions": ["GNA"], "since": "2019-03", "until": "2019-09",
     "types": ["remote"], "min_confidence": 0.5}])
def test_same_answer_as_reading_the_store(tmp_path, monkeypatch, gaz, kwargs):
    db = tmp_path / "s.gpkg"
    _mixed_store(db, gaz)
    monkeypatch.setattr(columns, "MIN_EVENTS", 10**12)
    direct = query_events(db, gazetteer=gaz, **kwargs)
    assert _files() == []
    monkeypatch.setattr(columns, "MIN_EVENTS", 0)
    copied = query_events(db, gazetteer=gaz, **kwargs)
    assert _files()
    assert len(direct) > 0
    pd.testing.assert_frame_equal(pd.DataFrame(copied.drop(columns="geometry")),
                                  pd.DataFrame(direct.drop(columns="geometry")))
    assert copied.geometry.equals(direct.geometry)
    assert query_events(db, gazetteer=gaz, count_only=True, **kwargs) == len(direct)


def test_month_only_dates_sort_as_text(tmp_path, always, gaz):
    """Dates that are not full days (another program's '2019-04') keep the store's order."""
    db = tmp_path / "s.gpkg"
    _write(db, "a1", [_event("b", 13.18, 32.88, date="2019-04-01"),
                      _event("a", 13.18, 32.88, date="2019-04"),
                      _event("c", 13.18, 32.88, date=None)])
    assert list(query_events(db, gazetteer=gaz, bbox="13,32,14,33")["id"]) == ["a", "b", "c"]


def test_copies_of_deleted_stores_are_removed(tmp_path, always):
    a, b = tmp_path / "a.gpkg", tmp_path / "b.gpkg"
    _write(a, "a1", [_event("e1", 13.18, 32.88)])
    _write(b, "b1", [_event("e2", 13.18, 32.88)])
    _copy(a)
    assert len(list(columns.cache_root().glob("columns/*"))) == 1
    a.unlink()
    _copy(b)  # building a copy clears those of stores that are gone
    (left,) = columns.cache_root().glob("columns/*")
    assert (left / columns.STORE_FILE).read_text(encoding="utf-8").strip() == str(b.resolve())


def test_rows_added_through_gdal_show(tmp_path, always):
    """GDAL (QGIS's library) appending to the events layer fires the block triggers too."""
    import geopandas as gpd
    import shapely

    db = tmp_path / "s.gpkg"
    _write(db, "a1", [_event("e1", 13.18, 32.88)])
    _copy(db)
    new = gpd.GeoDataFrame({"id": ["from-qgis"], "article_id": ["a1"], "lon": [13.3],
                            "lat": [32.8]}, geometry=[shapely.Point(13.3, 32.8)],
                           crs="EPSG:4326")
    new.to_file(db, layer="events", driver="GPKG", mode="a", engine="pyogrio")
    assert _copy(db).column("id").to_pylist() == ["e1", "from-qgis"]


def test_grid_index_finds_exactly_the_points_in_a_box(tmp_path, always):
    """rows_in_box (binary search of the cell column per block) against a plain comparison,
    with points on cell edges, on the boxes' edges, at lon 180 / lat 90 and without
    coordinates, over two blocks."""
    from geo.columns import CELL_DEG, rows_in_box

    rng = np.random.default_rng(2)
    lon = np.round(rng.uniform(12.0, 14.0, 1200), 6)
    lat = np.round(rng.uniform(32.0, 33.5, 1200), 6)
    lon[:200] = np.round(rng.integers(120, 140, 200) * CELL_DEG, 10)  # on cell edges
    lat[100:300] = np.round(rng.integers(320, 335, 200) * CELL_DEG, 10)
    lon[300:310], lat[300:310] = 13.25, 32.75  # on the edges of a box below
    events = [_event(f"p{i}", float(x), float(y)) for i, (x, y) in enumerate(zip(lon, lat))]
    events.append(_event("east", 180.0, 90.0))
    _write(db := tmp_path / "s.gpkg", "a1", events)
    with EventStore(db, create=False) as store, store.transaction() as conn:
        conn.execute("INSERT INTO events (id, article_id) VALUES ('nowhere', 'a1')")
        conn.execute("INSERT INTO events (fid, geom, id, article_id, lon, lat) VALUES "
                     "(?, ?, 'block2', 'a1', 13.3, 32.7)",
                     (3 << EVENT_BLOCK_BITS, gpkg_point(13.3, 32.7)))
    with EventStore(db, create=False) as store:
        table = event_columns(store)
    assert table.to_batches()[0].num_rows and len(table.to_batches()) == 2
    x = table.column("lon").to_numpy(zero_copy_only=False)
    y = table.column("lat").to_numpy(zero_copy_only=False)
    boxes = [(13.25, 32.6, 13.4, 32.75), (12.0, 32.0, 14.0, 33.5), (12.3, 32.3, 12.3, 32.3),
             (13.2, 32.5, 13.3, 32.8), (170.0, 80.0, 180.0, 90.0), (0.0, 0.0, 1.0, 1.0)]
    boxes += [tuple(np.sort(rng.uniform(12, 14, 2)).tolist()[:1]
                    + np.sort(rng.uniform(32, 33.5, 2)).tolist()[:1]
                    + np.sort(rng.uniform(12, 14, 2)).tolist()[1:]
                    + np.sort(rng.uniform(32, 33.5, 2)).tolist()[1:]) for _ in range(20)]
    for w, s, e, n in boxes:
        if w > e or s > n:
            continue
        with np.errstate(invalid="ignore"):
            expected = np.flatnonzero((x >= w) & (x <= e) & (y >= s) & (y <= n))
        assert rows_in_box(table, (w, s, e, n)).tolist() == expected.tolist(), (w, s, e, n)
    assert table.column("id").to_pylist()[rows_in_box(table, (170, 80, 180, 90))[0]] == "east"

