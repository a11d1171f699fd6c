"""`marsad export` and geo/exports.py: GeoJSON, GeoPackage and ACLED-like CSV of a store built
from the seed articles, read back with geopandas."""

import csv
import io
import json
import re
import shutil

import geopandas as gpd
import pyogrio
import pytest
from click.testing import CliRunner

from geo import exports as ex
from geo.cli import main

from conftest import ROOT

SOURCE = "Example News"
URL = "https://example.org/2019/04/05/tripoli"


def _copy_seeds(folder, extra_copy: bool = False):
    folder.mkdir()
    for f in sorted((ROOT / "seeds").glob("*.txt")):
        shutil.copy(f, folder / f.name)
    meta = json.loads((ROOT / "seeds" / "metadata.json").read_text(encoding="utf-8"))
    meta["001_232d954a2293e5b2.txt"].update(source=SOURCE, url=URL)
    if extra_copy:  # a second report of the same day: other text, same events -> incidents
        text = (ROOT / "seeds" / "001_232d954a2293e5b2.txt").read_text(encoding="utf-8")
        text += "\n\nنشر في وكالة أخرى.\n"
        (folder / "005_second_report.txt").write_text(text, encoding="utf-8")
        meta["005_second_report.txt"] = {**meta["001_232d954a2293e5b2.txt"],
                                         "source": "Other Agency"}
    (folder / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False),
                                          encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def db(tmp_path_factory, gaz):
    from geo.ingest import ingest

    tmp = tmp_path_factory.mktemp("exports")
    path = tmp / "events.gpkg"
    summary = ingest([_copy_seeds(tmp / "seeds")], path, gaz)
    assert summary.new == 5 and not summary.failed
    return path


@pytest.fixture(scope="module")
def db2(tmp_path_factory, gaz):
    """Seeds plus a second report of article 001: several reports per incident."""
    from geo.ingest import ingest

    tmp = tmp_path_factory.mktemp("exports2")
    path = tmp / "events.gpkg"
    ingest([_copy_seeds(tmp / "seeds", extra_copy=True)], path, gaz)
    return path


@pytest.fixture(scope="module")
def stored(db):
    from geo.store import EventStore

    with EventStore(db, create=False) as store:
        return store.events()


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def ok(*args):
    res = run(*args)
    assert res.exit_code == 0, res.output
    return res


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


# -- load_events ---------------------------------------------------------------------------------
def test_load_events_matches_the_store(db, stored):
    gdf = ex.load_events(db)
    assert len(gdf) == len(stored) > 10
    assert str(gdf.crs) == "EPSG:4326"
    assert list(gdf["id"]) == [e["id"] for e in stored]
    trip = gdf[gdf["place_en"] == "Tripoli"].iloc[0]
    assert trip.geometry.x == pytest.approx(13.18, abs=0.05)  # x is the longitude
    assert trip.geometry.y == pytest.approx(32.90, abs=0.05)
    assert all(isinstance(a, list) for a in gdf["actors"])


# -- GeoJSON -------------------------------------------------------------------------------------
def test_geojson_follows_rfc7946(db, stored):
    res = ok("export", "--db", db, "--format", "geojson")
    doc = json.loads(res.stdout)
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc
    assert len(doc["features"]) == len(stored)
    number = re.compile(r"-?\d+(?:\.(\d+))?")
    for f in doc["features"]:
        assert f["type"] == "Feature" and f["geometry"]["type"] == "Point"
        lon, lat = f["geometry"]["coordinates"]
        assert 9 < lon < 35 and 19 < lat < 34  # [lon, lat]: Libya and Egypt
        for c in (lon, lat):
            decimals = number.fullmatch(repr(c)).group(1) or ""
            assert len(decimals) <= 6
        p = f["properties"]
        assert set(p) == set(ex.GEOJSON_PROPERTIES)
        assert isinstance(p["actors"], list)
        assert not any(isinstance(v, (dict,)) for v in p.values())  # flat
    by_id = {f["properties"]["id"]: f for f in doc["features"]}
    for e in stored:
        p = by_id[e["id"]]["properties"]
        for k in ("incident_id", "type", "family", "date", "fatalities", "place_en", "place_ar",
                  "district", "actors", "sentence", "source", "url", "doc"):
            assert p[k] == e[k], k
        assert by_id[e["id"]]["geometry"]["coordinates"] == [round(e["lon"], 6),
                                                             round(e["lat"], 6)]
    assert any(f["properties"]["source"] == SOURCE and f["properties"]["url"] == URL
               for f in doc["features"])


def test_geojson_round_trip_with_geopandas(db, stored, tmp_path):
    out = tmp_path / "events.geojson"
    ok("export", "--db", db, "--format", "geojson", "-o", out)
    raw = json.loads(out.read_text(encoding="utf-8"))
    assert "crs" not in raw
    back = gpd.read_file(out)
    assert len(back) == len(stored)
    assert back.crs.to_epsg() == 4326
    trip = back[back["place_en"] == "Tripoli"].iloc[0]
    assert (trip.geometry.x, trip.geometry.y) == pytest.approx((13.1778, 32.8967), abs=0.01)
    assert set(back["id"]) == {e["id"] for e in stored}
    benghazi = back[back["fatalities"] == 24].iloc[0]
    assert benghazi["place_en"] == "Benghazi"
    assert benghazi["district"] == "LY-BA"


# -- GeoPackage ----------------------------------------------------------------------------------
def test_gpkg_has_four_layers_with_the_right_counts(db, stored, tmp_path):
    out = tmp_path / "export.gpkg"
    res = ok("export", "--db", db, "--format", "gpkg", "-o", out)
    assert str(out) in res.output
    layers = dict(pyogrio.list_layers(out))
    assert set(layers) == {"events", "places", "control", "districts"}
    assert layers["events"] == "Point" and layers["districts"] == "MultiPolygon"

    events = gpd.read_file(out, layer="events")
    assert len(events) == len(stored)
    assert events.crs.to_epsg() == 4326
    by_id = events.set_index("id")
    for e in stored:
        row = by_id.loc[e["id"]]
        assert row["actors"] == ";".join(e["actors"]) or (not e["actors"] and not row["actors"])
        assert (row.geometry.x, row.geometry.y) == pytest.approx((e["lon"], e["lat"]))
        assert row["type"] == e["type"]

    places = gpd.read_file(out, layer="places")
    assert places["events"].sum() == len(stored)
    assert places["place_id"].is_unique
    trip = places[places["name_en"] == "Tripoli"].iloc[0]
    assert trip["events"] == sum(e["place_en"] == "Tripoli" for e in stored)
    assert trip["mentions"] >= trip["events"] and trip["mentions"] > 5
    assert trip.geometry.x == pytest.approx(13.18, abs=0.05)
    assert (places["mentions"] > 0).all()  # every place of an event is also mentioned

    from geo.store import EventStore

    with EventStore(db, create=False) as store:
        n_control = store.count("control")
        n_mentions = store.count("mentions")
    assert places["mentions"].sum() == n_mentions
    control = gpd.read_file(out, layer="control")
    assert len(control) == n_control > 0
    assert {"faction", "as_of", "place_en", "district"} <= set(control.columns)

    districts = gpd.read_file(out, layer="districts")
    assert len(districts) == 22
    assert districts.crs.to_epsg() == 4326
    counts = districts.set_index("iso_code")["events"]
    assert counts["LY-TB"] == sum(e["district"] == "LY-TB" for e in stored)
    assert counts.sum() == sum(e["district"] is not None for e in stored)


def test_gpkg_refuses_to_overwrite_without_force(db, tmp_path):
    out = tmp_path / "export.gpkg"
    out.write_bytes(b"keep me")
    res = run("export", "--db", db, "--format", "gpkg", "-o", out)
    assert res.exit_code == 1
    assert "--force" in res.output and "Traceback" not in res.output
    assert out.read_bytes() == b"keep me"
    ok("export", "--db", db, "--format", "gpkg", "-o", out, "--force", "--type", "airstrike")
    assert len(gpd.read_file(out, layer="events")) == 1
    assert not [p for p in tmp_path.iterdir() if p.name != "export.gpkg"]  # no temp files


def test_gpkg_of_an_empty_selection_keeps_its_layers(db, tmp_path):
    out = tmp_path / "empty.gpkg"
    ok("export", "--db", db, "--format", "gpkg", "-o", out, "--since", "2030-01-01")
    layers = dict(pyogrio.list_layers(out))
    assert set(layers) == {"events", "places", "control", "districts"}
    assert len(gpd.read_file(out, layer="events")) == 0
    assert len(gpd.read_file(out, layer="districts")) == 22


# -- CSV -----------------------------------------------------------------------------------------
def test_csv_has_acled_columns_and_fatalities_stated(db, stored):
    rows = read_csv(ok("export", "--db", db, "--format", "csv").stdout)
    assert len(rows) == len(stored)
    assert list(rows[0]) == ex.ACLED_COLUMNS
    by_id = {r["event_id_cnty"]: r for r in rows}
    for e in stored:
        r = by_id[e["id"]]
        assert r["event_date"] == e["date"] and r["year"] == e["date"][:4]
        assert r["time_precision"] == {"day": "1", "week": "2", "month": "3"}[e["date_precision"]]
        assert r["event_type"] == ex.ACLED_EVENT_TYPE[e["family"]]
        assert r["sub_event_type"] == e["type"]
        assert r["actors"] == ";".join(e["actors"])
        assert r["actor1"] == (e["actors"][0] if e["actors"] else "")
        assert r["actor2"] == (e["actors"][1] if len(e["actors"]) > 1 else "")
        assert r["admin1"] == (e["district"] or "")
        assert r["location"] == e["place_en"] and r["location_ar"] == e["place_ar"]
        assert float(r["latitude"]) == pytest.approx(e["lat"], abs=1e-6)
        assert float(r["longitude"]) == pytest.approx(e["lon"], abs=1e-6)
        assert r["notes"] == e["sentence"]
        if e["fatalities"] is None:
            assert (r["fatalities"], r["fatalities_stated"]) == ("0", "false")
        else:
            assert (r["fatalities"], r["fatalities_stated"]) == (str(e["fatalities"]), "true")
    assert {r["fatalities_stated"] for r in rows} == {"true", "false"}
    trip = next(r for r in rows if r["admin1"] == "LY-TB")
    assert trip["admin1_name"] == "Tripoli"
    assert any(r["source"] == SOURCE and r["source_url"] == URL for r in rows)
    assert {r["event_type"] for r in rows} <= set(ex.ACLED_EVENT_TYPE.values())


def test_csv_to_file_is_utf8(db, tmp_path):
    out = tmp_path / "events.csv"
    ok("export", "--db", db, "--format", "csv", "-o", out)
    text = out.read_bytes().decode("utf-8")
    assert text.startswith("event_id_cnty,")
    assert "طرابلس" in text


# -- filters -------------------------------------------------------------------------------------
def _ids(*args, db):
    rows = read_csv(ok("export", "--db", db, "--format", "csv", *args).stdout)
    return {r["event_id_cnty"] for r in rows}


def test_each_filter_narrows(db, stored):
    every = {e["id"] for e in stored}
    cases = [
        (("--since", "2019-01-01"), lambda e: e["date"] >= "2019-01-01"),
        (("--until", "2014-12-31"), lambda e: e["date"] <= "2014-12-31"),
        (("--since", "2017-01-01", "--until", "2017-12-31"),
         lambda e: "2017" <= e["date"] <= "2017-12-31"),
        (("--type", "airstrike", "--type", "armed_clash"),
         lambda e: e["type"] in ("airstrike", "armed_clash")),
        (("--family", "control"), lambda e: e["family"] == "control"),
        (("--faction", "DMSC"), lambda e: "DMSC" in e["actors"]),
        (("--faction", "lna", "--faction", "protesters"),
         lambda e: {"LNA", "protesters"} & set(e["actors"])),
        (("--region", "LY-TB"), lambda e: e["district"] == "LY-TB"),
        (("--region", "tripoli"), lambda e: e["district"] == "LY-TB"),
        (("--region", "طرابلس"), lambda e: e["district"] == "LY-TB"),
        (("--region", "Al Jafara", "--region", "بنغازي"),
         lambda e: e["district"] in ("LY-JI", "LY-BA")),
        (("--min-confidence", "0.99"), lambda e: e["confidence"] >= 0.99),
        (("--family", "fight", "--region", "LY-TB", "--since", "2019-01-01"),
         lambda e: e["family"] == "fight" and e["district"] == "LY-TB"
         and e["date"] >= "2019"),
    ]
    for args, keep in cases:
        want = {e["id"] for e in stored if keep(e)}
        assert want and want != every, args  # the case really narrows
        assert _ids(*args, db=db) == want, args
    # the same filters in the other formats
    doc = json.loads(ok("export", "--db", db, "--format", "geojson", "--region", "LY-BA").stdout)
    assert {f["id"] for f in doc["features"]} == {e["id"] for e in stored
                                                  if e["district"] == "LY-BA"}


def test_filters_apply_to_gpkg_layers(db, stored, tmp_path):
    out = tmp_path / "tb.gpkg"
    ok("export", "--db", db, "--format", "gpkg", "-o", out, "--region", "LY-TB")
    events = gpd.read_file(out, layer="events")
    assert len(events) == sum(e["district"] == "LY-TB" for e in stored)
    assert set(events["district"]) == {"LY-TB"}
    places = gpd.read_file(out, layer="places")
    assert set(places["district"]) == {"LY-TB"}
    assert len(gpd.read_file(out, layer="control")) == 0  # Sabha and Sharara are elsewhere
    districts = gpd.read_file(out, layer="districts").set_index("iso_code")
    assert districts["events"].sum() == districts.loc["LY-TB", "events"] == len(events)

    out2 = tmp_path / "sb.gpkg"
    ok("export", "--db", db, "--format", "gpkg", "-o", out2, "--region", "Sabha")
    assert set(gpd.read_file(out2, layer="control")["district"]) == {"LY-SB"}


# -- incidents -----------------------------------------------------------------------------------
def test_incidents_one_row_per_incident(db2):
    from geo.store import EventStore

    with EventStore(db2, create=False) as store:
        reports = store.events()
    incidents = {e["incident_id"] for e in reports}
    assert len(incidents) < len(reports)  # the second report joined incidents

    rows = read_csv(ok("export", "--db", db2, "--format", "csv", "--incidents").stdout)
    assert len(rows) == len(incidents)
    assert {r["incident_id"] for r in rows} == incidents
    assert sum(int(r["reports"]) for r in rows) == len(reports)
    assert list(rows[0])[-2:] == ["reports", "sources"]
    multi = [r for r in rows if int(r["reports"]) > 1]
    assert multi
    for r in multi:
        members = [e for e in reports if e["incident_id"] == r["incident_id"]]
        assert float(r["confidence"]) == max(e["confidence"] for e in members)
        docs = r["sources"].split(";")
        assert len(docs) == len({e["doc"] for e in members}) >= 2
    # the synthetic second report is linked to the report it copies; other seeds may also be
    # linked (seed 000's Benghazi attack and seed 004's clash are the same day and place)
    assert any(d.endswith("005_second_report.txt")
               for r in multi for d in r["sources"].split(";"))

    doc = json.loads(ok("export", "--db", db2, "--format", "geojson", "--incidents").stdout)
    assert len(doc["features"]) == len(incidents)
    assert all("reports" in f["properties"] for f in doc["features"])


def test_incidents_in_gpkg(db2, tmp_path):
    from geo.store import EventStore

    with EventStore(db2, create=False) as store:
        n = len({e["incident_id"] for e in store.events()})
    out = tmp_path / "inc.gpkg"
    ok("export", "--db", db2, "--format", "gpkg", "-o", out, "--incidents")
    events = gpd.read_file(out, layer="events")
    assert len(events) == n and events["incident_id"].is_unique
    assert {"reports", "sources"} <= set(events.columns)


# -- errors --------------------------------------------------------------------------------------
def _one_error(res, code):
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output
    errors = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, res.output
    return errors[0]


def test_missing_db(tmp_path):
    line = _one_error(run("export", "--db", tmp_path / "none.gpkg", "--format", "csv"), 1)
    assert "no event store" in line
    assert len(run("export", "--db", tmp_path / "none.gpkg", "--format", "csv")
               .output.strip().splitlines()) == 1


def test_bad_date(db):
    line = _one_error(run("export", "--db", db, "--format", "csv", "--since", "2019-02-30"), 2)
    assert "2019-02-30" in line
    _one_error(run("export", "--db", db, "--format", "csv", "--until", "yesterday"), 2)


def test_unknown_region_lists_close_names(db):
    line = _one_error(run("export", "--db", db, "--format", "csv", "--region", "Tripolli"), 2)
    assert "Tripolli" in line and "LY-TB" in line
    line = _one_error(run("export", "--db", db, "--format", "csv", "--region", "Atlantis"), 2)
    assert "Atlantis" in line


def test_unknown_faction_and_type(db):
    line = _one_error(run("export", "--db", db, "--format", "csv", "--faction", "LMA"), 2)
    assert "LNA" in line
    _one_error(run("export", "--db", db, "--format", "csv", "--type", "bombing"), 2)


def test_gpkg_without_output(db):
    line = _one_error(run("export", "--db", db, "--format", "gpkg"), 2)
    assert "-o" in line


def test_resolve_region():
    assert ex.resolve_region("LY-TB") == ex.resolve_region("ly-tb") == "LY-TB"
    assert ex.resolve_region("AL JUFRA") == ex.resolve_region("الجفرة") == "LY-JU"
    assert ex.resolve_region("مصراته") == "LY-MI"  # ta marbuta spelt with ha
    with pytest.raises(ex.ExportError, match="Misrata"):
        ex.resolve_region("Misratta")
