"""`marsad parse --format geojson` and `marsad demo`: RFC 7946 output and an escaped map."""

import json

import geopandas as gpd
from click.testing import CliRunner

from geo.cli import main

from conftest import ROOT


def test_geojson_is_rfc7946_and_reads_back(tmp_path):
    res = CliRunner().invoke(main, ["parse", str(ROOT / "seeds"), "--format", "geojson"])
    assert res.exit_code == 0
    fc = json.loads(res.stdout)
    assert fc["type"] == "FeatureCollection" and "crs" not in fc
    jsonl = CliRunner().invoke(main, ["parse", str(ROOT / "seeds")])
    n_mentions = sum(len(json.loads(x)["places"]) for x in jsonl.stdout.splitlines())
    assert len(fc["features"]) == n_mentions
    for f in fc["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert -180 <= lon <= 180 and -90 <= lat <= 90
        assert round(lon, 6) == lon and round(lat, 6) == lat
    path = tmp_path / "p.geojson"
    path.write_text(res.stdout, encoding="utf-8")
    gdf = gpd.read_file(path)
    assert len(gdf) == n_mentions and gdf.crs.to_epsg() == 4326
    tripoli = gdf[gdf["id"] == "osm:n1699640925"]
    # [lon, lat] order: Tripoli is at 13.18 E, 32.90 N
    assert abs(tripoli.geometry.iloc[0].x - 13.18) < 0.05
    assert abs(tripoli.geometry.iloc[0].y - 32.90) < 0.05


def test_demo_writes_outputs_and_escapes_article_text(tmp_path):
    art = tmp_path / "articles"
    art.mkdir()
    # a crafted article: its file name and text must not inject script into the map
    (art / "<b onmouseover=alert(1)>.txt").write_text(
        "هجوم في بنغازي <img src=x onerror=alert(2)>", encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["demo", str(art), "-o", str(out)])
    assert res.exit_code == 0, res.output
    for name in ("places.jsonl", "places.geojson", "places_map.html", "events.gpkg", "map.html",
                 "events.geojson"):
        assert (out / name).stat().st_size > 0
    for page_name in ("places_map.html", "map.html"):
        page = (out / page_name).read_text(encoding="utf-8")
        assert "<b onmouseover=alert(1)>" not in page
        assert "onerror=alert(2)" not in page
    page = (out / "places_map.html").read_text(encoding="utf-8")
    assert "<b onmouseover=alert(1)>" not in page
    assert "&lt;b onmouseover=alert(1)&gt;" in page  # shown as text in the popup
    assert "onerror=alert(2)" not in page  # the text itself never reaches the page
