"""geo/query.py and `marsad query`: districts, bbox, radius, polygons, hierarchy, filters.

Every test that reads a store runs three times, with the same expected answers: against a
GeoPackage read through SQL, against the same GeoPackage read through its columnar copy
(geo.columns, used here whatever the store's size), and against PostGIS (a throwaway server
started by tests/conftest.py)."""

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Geod

from geo.articles import Article
from geo.cli import main
from geo.query import (QueryError, load_regions, parse_bbox, parse_date_bound, query_events,
                       rejoin_districts, resolve_region)
from geo.store import open_store

ROOT = Path(__file__).resolve().parent.parent
GEOD = Geod(ellps="WGS84")
TRIPOLI_CITY = "osm:n1699640925"
DERNA_CITY = "osm:n288493021"


# -- fixtures -------------------------------------------------------------------------------------
BACKENDS = ["gpkg", "columns", "postgis"]


@pytest.fixture(autouse=True)
def _columnar_copy(request, monkeypatch):
    """Backend "columns": queries read the GeoPackage's columnar copy even for small stores;
    "gpkg": they read the store through SQL. The other path fails the test if it is taken."""
    spec = getattr(request.node, "callspec", None)
    kind = next((v for v in (spec.params.values() if spec else ())
                 if v in ("gpkg", "columns")), None)
    if kind is None:
        return
    from geo import columns, query

    def refuse(*args, **kwargs):
        raise AssertionError(f"backend {kind} took the other read path")

    monkeypatch.setattr(columns, "MIN_EVENTS", 0 if kind == "columns" else 10**12)
    for name in (("_fetch", "_count") if kind == "columns" else ("_select_columns",)):
        monkeypatch.setattr(query, name, refuse)


def new_store(kind: str, tmp_path_factory, request, name: str):
    """A path (GeoPackage) or URL (a fresh PostGIS database) for a store that does not exist."""
    if kind in ("gpkg", "columns"):
        return tmp_path_factory.mktemp(name) / f"{name}.gpkg"
    from pgserver import random_name

    return request.getfixturevalue("pg_server").create_database(random_name(name))


@pytest.fixture(scope="module", params=BACKENDS)
def seed_db(request, tmp_path_factory):
    from gazetteer.load import DEFAULT_PATH, load_gazetteer
    from geo.ingest import ingest

    d = tmp_path_factory.mktemp("seeds")
    for p in (ROOT / "seeds").iterdir():
        shutil.copy(p, d / p.name)
    db = new_store(request.param, tmp_path_factory, request, "seeds")
    ingest(sorted(d.glob("*.txt")) + [d / "metadata.json"], db,
           load_gazetteer(DEFAULT_PATH, user=False))
    return db


def shared_border_vertex():
    """A vertex of both the Tripoli and the Jafara polygons (on their common border)."""
    r = load_regions()
    tb = shapely.get_coordinates(r.geometry("LY-TB"))
    ji = set(map(tuple, shapely.get_coordinates(r.geometry("LY-JI"))))
    shared = [tuple(map(float, x)) for x in tb if tuple(x) in ji]
    assert shared
    return shared[len(shared) // 2]


def _event(eid, lon, lat, *, place_id=None, district=None, type_="armed_clash",
           family="fight", date="2019-04-10", actors=("LNA",), confidence=0.9, precision=1):
    return {"id": eid, "lon": lon, "lat": lat, "place_id": place_id, "place_en": eid,
            "district": district, "type": type_, "family": family, "date": date,
            "actors": list(actors), "confidence": confidence, "geo_precision": precision,
            "in_libya": True, "start": 0, "end": 1}


def write_synth(db, gaz):
    """Events at known places (their ids say why they are there) into the store `db`."""
    p = gaz.get
    bx, by = shared_border_vertex()
    derna = p(DERNA_CITY)
    lon30, lat30, _ = GEOD.fwd(derna.lon, derna.lat, 180, 30_000)
    lon31, lat31, _ = GEOD.fwd(derna.lon, derna.lat, 180, 30_001)
    airport = p("marsad:tripoli-international-airport")
    bab = p("osm:n10074098707")  # Bab Amrus: in Tripoli district, not under the city
    naval = p("marsad:abu-sitta-naval-base")
    events = [
        _event("tripoli-city", p(TRIPOLI_CITY).lon, p(TRIPOLI_CITY).lat, place_id=TRIPOLI_CITY,
               district="LY-TB", date="2019-04-04", actors=("LNA", "GNA")),
        _event("naval-base", naval.lon, naval.lat, place_id=naval.id, district="LY-TB",
               type_="storming", date="2017-03-20", actors=("protesters",)),
        _event("airport", airport.lon, airport.lat, place_id=airport.id, district="LY-JI",
               type_="airstrike", family="remote", date="2019-04-08"),
        _event("bab-amrus", bab.lon, bab.lat, place_id=bab.id, district="LY-TB",
               date="2020-01-01", actors=("GNA",), confidence=0.5),
        _event("border", bx, by, district="LY-TB", date="2019-05-01"),
        _event("jufra-area", p("iso:LY-JU").lon, p("iso:LY-JU").lat, place_id="iso:LY-JU",
               district="LY-JU", precision=3, type_="airstrike", family="remote",
               date="2019-04-20"),
        _event("fezzan-area", 15.0, 26.5, place_id="marsad:fezzan", precision=3,
               type_="territory_taken", family="control", date="2019-01-15"),
        _event("jufra-airbase", p("marsad:al-jufra-airbase").lon,
               p("marsad:al-jufra-airbase").lat, place_id="marsad:al-jufra-airbase",
               district="LY-JU", type_="airstrike", family="remote", date="2019-06-26",
               actors=("GNA",)),
        _event("derna-30km", lon30, lat30, district="LY-DR", type_="airstrike",
               family="remote", date="2018-05-01"),
        _event("derna-30.001km", lon31, lat31, district="LY-DR", type_="airstrike",
               family="remote", date="2018-05-01"),
        _event("derna", derna.lon, derna.lat, place_id=DERNA_CITY, district="LY-DR",
               type_="airstrike", family="remote", date="2017-05-30", actors=("LNA",)),
        _event("bbox-corner", 13.0, 32.5, district="LY-JI", date="2019-04-05"),
        _event("bbox-out", 13.2000001, 32.5, district="LY-JI", date="2019-04-05"),
    ]
    with open_store(db) as store:
        store.write_article("a1", Article("synthetic.txt", "x"), {"events": events}, "test")
    return db


@pytest.fixture(scope="module", params=BACKENDS)
def synth(request, tmp_path_factory, gaz):
    return write_synth(new_store(request.param, tmp_path_factory, request, "synth"), gaz)


def ids(gdf):
    return set(gdf["id"])


# -- regions and names ----------------------------------------------------------------------------
@pytest.mark.parametrize("name,code", [("طرابلس", "LY-TB"), ("Tripoli", "LY-TB"),
                                       ("Tarabulus", "LY-TB"), ("الجفرة", "LY-JU"),
                                       ("Jufrah", "LY-JU"), ("Jufraa", "LY-JU"),
                                       ("LY-ba", "LY-BA"), ("Tobruk", "LY-BU"),
                                       ("Ejdabia", "LY-WA"), ("Ubari", "LY-WD"),
                                       ("Zwara", "LY-NQ")])
def test_region_names_arabic_english_fuzzy(gaz, name, code):
    area = resolve_region(name, gaz)
    assert area.kind == "district" and area.codes == {code}


def test_city_and_district_note_offers_the_other(gaz):
    area = resolve_region("Tripoli", gaz)
    assert area.codes == {"LY-TB"}
    assert "city" in area.note and TRIPOLI_CITY in area.note
    city = resolve_region("Tripoli", gaz, kind="city")
    assert city.kind == "city" and TRIPOLI_CITY in city.place_ids
    assert "marsad:tripoli-international-airport" in city.place_ids


def test_historical_region_is_union_of_districts(gaz):
    area = resolve_region("Fezzan", gaz)
    assert area.kind == "region" and "LY-JU" in area.codes and "LY-SB" in area.codes


def test_unknown_region_suggests_closest(gaz):
    with pytest.raises(QueryError, match="did you mean"):
        resolve_region("Misratta Xq", gaz)
    with pytest.raises(QueryError, match="unknown region 'Qwxyzzz'"):
        resolve_region("Qwxyzzz", gaz)


def test_user_regions_file_names_map_through_aliases(tmp_path, gaz):
    d = gpd.read_file(ROOT / "gazetteer/data/districts.geojson")
    ocha = {"LY-BU": "Tobruk", "LY-WA": "Ejdabia", "LY-WD": "Ubari", "LY-NQ": "Zwara",
            "LY-JU": "Aljufra"}
    d["ADM2_EN"] = [ocha.get(c, n) for c, n in zip(d["iso_code"], d["name_en"])]
    path = tmp_path / "ocha.gpkg"
    d[["ADM2_EN", "geometry"]].to_file(path)
    regions = load_regions(path, "ADM2_EN")
    assert sorted(regions.codes) == sorted(d["iso_code"]) and not regions.unmapped
    assert resolve_region("Ejdabia", gaz, regions).codes == {"LY-WA"}
    with pytest.raises(QueryError, match="no field 'nope'"):
        load_regions(path, "nope")


# -- seeds store ----------------------------------------------------------------------------------
def test_seed_counts_per_district_match_stored_districts(seed_db, gaz):
    with open_store(seed_db, create=False) as store:
        stored = {}
        for e in store.events():
            if e["district"]:
                stored[e["district"]] = stored.get(e["district"], 0) + 1
    counts = {c: query_events(seed_db, region=c, gazetteer=gaz, count_only=True)
              for c in load_regions().codes}
    assert {c: n for c, n in counts.items() if n} == stored
    # the seeds report fighting in Tripoli, Jafara (the airport road, Bridge 27), Benghazi,
    # Derna and Sabha (tests/data/gold/events_seeds.jsonl)
    assert all(counts[c] > 0 for c in ("LY-TB", "LY-JI", "LY-BA", "LY-DR", "LY-SB"))


def test_seed_districts_agree_with_spatial_join(seed_db):
    assert rejoin_districts(seed_db, dry_run=True).changed == []


def test_seed_jufra_since_april_2019_and_lna_strikes_near_derna(seed_db, gaz):
    assert len(query_events(seed_db, region="الجفرة", since="2019-04", gazetteer=gaz)) == 0
    strikes = query_events(seed_db, near="Derna", km=30, factions=["LNA"], types=["airstrike"],
                           gazetteer=gaz)
    assert list(strikes["place_en"]) == ["Darnah"] and strikes.crs == "EPSG:4326"
    sabha = query_events(seed_db, region="سبها", gazetteer=gaz)
    assert list(sabha["area_only"]) == [True]


# -- synthetic store: edges, hierarchy, area-only, filters -----------------------------------------
def test_point_on_district_border_is_in_both(synth, gaz):
    assert "border" in ids(query_events(synth, region="LY-TB", gazetteer=gaz))
    assert "border" in ids(query_events(synth, region="LY-JI", gazetteer=gaz))


def test_bbox_edges_are_inclusive(synth, gaz):
    got = ids(query_events(synth, bbox="13.0,32.4,13.2,32.5", gazetteer=gaz))
    assert "bbox-corner" in got and "bbox-out" not in got
    assert ids(query_events(synth, bbox=(13.0, 32.5, 13.0, 32.5), gazetteer=gaz)) == {
        "bbox-corner"}


def test_radius_is_geodesic_and_inclusive(synth, gaz):
    got = ids(query_events(synth, near="Derna", km=30, gazetteer=gaz))
    assert {"derna", "derna-30km"} <= got and "derna-30.001km" not in got
    d = gaz.get(DERNA_CITY)
    got = ids(query_events(synth, near=f"{d.lat},{d.lon}", km=30.002, gazetteer=gaz))
    assert "derna-30.001km" in got


def test_city_covers_its_neighbourhoods_and_facilities(synth, gaz):
    city = ids(query_events(synth, region="Tripoli", region_kind="city", gazetteer=gaz))
    assert city == {"tripoli-city", "naval-base", "airport"}  # the airport lies in Jafara
    district = ids(query_events(synth, region="Tripoli", gazetteer=gaz))
    assert district == {"tripoli-city", "naval-base", "bab-amrus", "border"}


def test_area_only_events_need_their_whole_area_inside(synth, gaz):
    jufra = query_events(synth, region="Jufra", gazetteer=gaz)
    assert ids(jufra) == {"jufra-area", "jufra-airbase"}
    assert dict(zip(jufra["id"], jufra["area_only"])) == {"jufra-area": True,
                                                          "jufra-airbase": False}
    assert ids(query_events(synth, region="Fezzan", gazetteer=gaz)) == {
        "jufra-area", "fezzan-area", "jufra-airbase"}
    assert "fezzan-area" not in ids(query_events(synth, region="Sabha", gazetteer=gaz))
    # a box around Jufra's gazetteer point only: its area is not inside
    p = gaz.get("iso:LY-JU")
    small = f"{p.lon - 0.1},{p.lat - 0.1},{p.lon + 0.1},{p.lat + 0.1}"
    assert "jufra-area" not in ids(query_events(synth, bbox=small, gazetteer=gaz))
    w, s, e, n = load_regions().geometry("LY-JU").bounds
    assert "jufra-area" in ids(query_events(synth, bbox=f"{w},{s},{e},{n}", gazetteer=gaz))


def test_polygon_file(synth, gaz, tmp_path):
    path = tmp_path / "south_tripoli.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(12.9, 32.45, 13.3, 32.75)], crs="EPSG:4326").to_file(
        path)
    got = ids(query_events(synth, within=path, gazetteer=gaz))
    assert {"airport", "bbox-corner", "bbox-out"} <= got
    assert not got & {"tripoli-city", "naval-base", "jufra-area", "derna"}


def test_filters_combined(synth, gaz):
    got = query_events(synth, region="Jufra", types=["airstrike"], factions=["GNA"],
                       since="2019-06", until="2019-06-30", gazetteer=gaz)
    assert ids(got) == {"jufra-airbase"}
    assert ids(query_events(synth, region="Tripoli", factions=["GNA"], min_confidence=0.8,
                            gazetteer=gaz)) == {"tripoli-city"}
    assert ids(query_events(synth, region="Tripoli", types=["fight"], until="2019",
                            gazetteer=gaz)) == {"tripoli-city", "naval-base", "border"}


def test_empty_result_keeps_columns(synth, gaz):
    got = query_events(synth, region="Ghat", gazetteer=gaz)
    assert len(got) == 0 and "area_only" in got.columns and got.crs == "EPSG:4326"
    assert query_events(synth, region="Ghat", count_only=True, gazetteer=gaz) == 0


@pytest.mark.parametrize("bad", ["1,2,3", "a,b,c,d", "13,33,12,32", "0,0,200,1", "nan,1,2,3"])
def test_malformed_bbox(bad):
    with pytest.raises(QueryError):
        parse_bbox(bad)


@pytest.mark.parametrize("bad", ["2019-13", "2019-02-30", "April", "19-04-01"])
def test_malformed_dates(bad):
    with pytest.raises(QueryError):
        parse_date_bound(bad, end=False)


def test_date_bounds():
    assert parse_date_bound("2019-04", end=False) == "2019-04-01"
    assert parse_date_bound("2019-02", end=True) == "2019-02-28"
    assert parse_date_bound("2019", end=True) == "2019-12-31"


# -- rejoin ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_rejoin_with_user_regions_is_transactional(backend, gaz, tmp_path, request):
    db = write_synth(tmp_path / "copy.gpkg" if backend in ("gpkg", "columns")
                     else request.getfixturevalue("pg_url"), gaz)
    d = gpd.read_file(ROOT / "gazetteer/data/districts.geojson")
    # a user file that puts Jafara inside Tripoli ("Tarabulus" maps to LY-TB)
    d["NAME"] = ["Tarabulus" if c in ("LY-TB", "LY-JI") else n
                 for c, n in zip(d["iso_code"], d["name_en"])]
    path = tmp_path / "merged.geojson"
    d[["NAME", "geometry"]].to_file(path)
    regions = load_regions(path, "NAME")
    assert "LY-JI" not in regions.codes
    dry = rejoin_districts(db, regions, gaz=gaz, dry_run=True)
    assert {c["id"] for c in dry.changed} == {"airport", "bbox-corner", "bbox-out"}
    with open_store(db, create=False) as s:
        assert {e["id"]: e["district"] for e in s.events()}["airport"] == "LY-JI"
    res = rejoin_districts(db, regions, gaz=gaz)
    assert len(res.changed) == 3
    with open_store(db, create=False) as s:
        assert {e["id"]: e["district"] for e in s.events()}["airport"] == "LY-TB"
    assert rejoin_districts(db, regions, gaz=gaz).changed == []


# -- CLI ------------------------------------------------------------------------------------------
def run(*args):
    return CliRunner().invoke(main, ["query", *map(str, args)])


def test_cli_formats(synth):
    r = run("--db", synth, "--region", "Jufra", "--format", "jsonl")
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert {x["id"]: x["area_only"] for x in rows} == {"jufra-area": True,
                                                       "jufra-airbase": False}
    gj = json.loads(run("--db", synth, "--bbox", "13.0,32.4,13.2,32.5", "--format",
                        "geojson").stdout)
    assert [f["id"] for f in gj["features"]] == ["bbox-corner"]
    csv_out = run("--db", synth, "--near", "Derna", "--km", "30", "--format", "csv").stdout
    assert csv_out.splitlines()[0].endswith("place_id,area_only") and "derna-30km" in csv_out
    assert run("--db", synth, "--region", "Jufra", "--count").stdout.strip() == "2"
    table = run("--db", synth, "--region", "Ghat")
    assert table.exit_code == 0 and "(0 events)" in table.stdout


def test_cli_note_on_stderr_for_city_and_district(synth):
    r = run("--db", synth, "--region", "طرابلس", "--count")
    assert r.exit_code == 0 and r.stdout.strip() == "4"
    assert "--region-kind city" in r.stderr


@pytest.mark.parametrize("args,msg", [
    (["--bbox", "1,2,3"], "W,S,E,N"),
    (["--region", "Jufra", "--since", "2019-13"], "not a valid date"),
    (["--region", "Qwxyzzz"], "unknown region"),
    (["--region", "Tripolitanio Zq"], "did you mean"),
    (["--near", "Derna"], "--km"),
    (["--region", "Jufra", "--bbox", "1,2,3,4"], "exactly one"),
])
def test_cli_errors_exit_2(synth, args, msg):
    r = run("--db", synth, *args)
    assert r.exit_code == 2 and msg in r.stderr
    assert "Traceback" not in r.output


def test_cli_bad_polygon_file_exit_2(synth, tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    r = run("--db", synth, "--within", bad)
    assert r.exit_code == 2 and "--within" in r.stderr
    points = tmp_path / "points.geojson"
    gpd.GeoDataFrame(geometry=[shapely.Point(13, 32)], crs="EPSG:4326").to_file(points)
    r = run("--db", synth, "--within", points)
    assert r.exit_code == 2 and "no polygons" in r.stderr


def test_cli_rejoin_dry_run(synth):
    r = run("--db", synth, "--rejoin", "--dry-run")
    assert r.exit_code == 0 and "0 of 13 events would change" in r.stdout


def test_cli_regions_lists_codes():
    r = CliRunner().invoke(main, ["regions"])
    assert r.exit_code == 0 and "LY-JU" in r.stdout and "(22 regions" in r.stdout


# -- counts equal the rows they count -------------------------------------------------------------
@pytest.fixture(scope="module", params=BACKENDS)
def dense(request, tmp_path_factory, gaz):
    """3,000 random events around Tripoli and Jufra, some exactly on float32 numbers (the
    R-tree's) and on district borders, 2 % area-only: the count-only path (interior cells of
    the spatial index) must agree with the rows the full query returns."""
    import numpy as np

    rng = np.random.default_rng(3)
    n = 3000
    lon = np.concatenate([rng.uniform(12.5, 14.5, n // 2), rng.uniform(14.5, 18.5, n // 2)])
    lat = np.concatenate([rng.uniform(32.0, 33.2, n // 2), rng.uniform(27.0, 30.5, n // 2)])
    snap = rng.random(n) < 0.2
    lon[snap] = lon[snap].astype(np.float32)
    lat[snap] = lat[snap].astype(np.float32)
    bx, by = shared_border_vertex()
    lon[:5], lat[:5] = bx, by
    # points exactly on the cell edges the bbox query below counts by
    from geo.query import GRID, _f32_edges

    ex, ey = _f32_edges(13.0, 13.5, GRID), _f32_edges(32.5, 32.9, GRID)
    lon[5:105] = rng.choice(ex[1:-1], 100)
    lat[5:105] = rng.choice(ey[1:-1], 100)
    area = rng.random(n) < 0.02
    area[:105] = False
    places = ["iso:LY-TB", "iso:LY-JU", "iso:LY-JI", "marsad:fezzan"]
    events = []
    for i in range(n):
        if area[i]:
            pid = places[i % len(places)]
            p = gaz.get(pid)
            events.append(_event(f"d{i}", p.lon, p.lat, place_id=pid, precision=3))
        else:
            events.append(_event(f"d{i}", float(lon[i]), float(lat[i])))
    db = new_store(request.param, tmp_path_factory, request, "dense")
    with open_store(db) as store:
        store.write_article("dense", Article("dense.txt", "x"), {"events": events}, "test")
    return db


@pytest.mark.parametrize("kwargs", [
    {"region": "LY-TB"}, {"region": "LY-JI"}, {"region": "Jufra"}, {"region": "Fezzan"},
    {"region": "Tripolitania"}, {"bbox": "13.0,32.5,13.5,32.9"}, {"near": "Hun", "km": 120},
    {"near": "32.8,13.2", "km": 25}, {"within": shapely.box(13.1, 32.6, 13.3, 32.95)}])
def test_count_only_equals_the_rows(dense, gaz, kwargs):
    rows = query_events(dense, gazetteer=gaz, **kwargs)
    assert query_events(dense, gazetteer=gaz, count_only=True, **kwargs) == len(rows)
    assert len(rows) > 0


def test_radius_test_is_geodesic_everywhere():
    """The sphere pre-test only skips the geodesic test far from the circle: the answer is the
    WGS84 geodesic one for points at every distance and latitude (north-south at the equator,
    where the sphere errs most, included)."""
    import numpy as np

    from geo.query import DISTANCE_TOLERANCE_M, QueryArea

    rng = np.random.default_rng(11)
    for clon, clat, km in ((13.19, 32.89, 30), (0.0, 0.0, 500), (20.0, 70.0, 100)):
        area = QueryArea("radius", "r", center=(clon, clat), radius_m=km * 1000)
        az = rng.uniform(0, 360, 4000)
        ratio = np.where(rng.random(4000) < 0.5, rng.uniform(0.3, 1.7, 4000),
                         rng.choice([0.995, 0.999, 1.0, 1.001, 1.005], 4000))
        dist = km * 1000 * ratio
        lon, lat, _ = GEOD.fwd(np.full(4000, clon), np.full(4000, clat), az, dist)
        _, _, true = GEOD.inv(np.full(4000, clon), np.full(4000, clat), lon, lat)
        expected = true <= km * 1000 + DISTANCE_TOLERANCE_M
        assert (area.covers_points(lon, lat) == expected).all()
        assert 0 < expected.sum() < 4000
