"""Checks on the shipped district polygons (gazetteer/data/districts.geojson) and districts.csv."""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

DATA = Path(__file__).resolve().parents[1] / "gazetteer" / "data"
GEOJSON = DATA / "districts.geojson"
DISTRICTS_CSV = DATA / "curated" / "districts.csv"
ALIASES_CSV = DATA / "region_aliases.csv"

# ISO 3166-2:LY (https://www.iso.org/obp/ui/#iso:code:3166:LY): Libya's 22 sha'biyat (districts).
ISO_3166_2_LY = {
    "LY-BA",  # Banghazi
    "LY-BU",  # Al Butnan
    "LY-DR",  # Darnah
    "LY-GT",  # Ghat
    "LY-JA",  # Al Jabal al Akhdar
    "LY-JG",  # Al Jabal al Gharbi
    "LY-JI",  # Al Jafarah
    "LY-JU",  # Al Jufrah
    "LY-KF",  # Al Kufrah
    "LY-MB",  # Al Marqab
    "LY-MI",  # Misratah
    "LY-MJ",  # Al Marj
    "LY-MQ",  # Murzuq
    "LY-NL",  # Nalut
    "LY-NQ",  # An Nuqat al Khams
    "LY-SB",  # Sabha
    "LY-SR",  # Surt
    "LY-TB",  # Tarabulus
    "LY-WA",  # Al Wahat
    "LY-WD",  # Wadi al Hayat
    "LY-WS",  # Wadi ash Shati'
    "LY-ZA",  # Az Zawiyah
}

# Main cities (lon, lat of their OpenStreetMap nodes) and the district each lies in.
MAIN_CITIES = {
    "Tripoli": ((13.1777923, 32.896672), "LY-TB"),
    "Benghazi": ((20.0812174, 32.1200168), "LY-BA"),
    "Misrata": ((15.0905803, 32.3745923), "LY-MI"),
    "Derna": ((22.6383195, 32.7593795), "LY-DR"),
    "Sirte": ((16.5836206, 31.2059625), "LY-SR"),
    "Sabha": ((14.4290398, 27.0364864), "LY-SB"),
    "Tobruk": ((23.9599988, 32.0773764), "LY-BU"),
    "Ajdabiya": ((20.2233582, 30.7549616), "LY-WA"),
    "Zawiya": ((12.7355967, 32.7596665), "LY-ZA"),
    "Gharyan": ((13.0211451, 32.1715873), "LY-JG"),
    "Bayda": ((21.7577175, 32.7609529), "LY-JA"),
    "Zliten": ((14.56564, 32.467562), "LY-MI"),  # Zliten district was merged into Misrata in 2007
    "Tarhuna": ((13.6350687, 32.4345861), "LY-MB"),
    "Bani Walid": ((14.0146898, 31.7584309), "LY-MI"),
    "Tajura": ((13.3525476, 32.8834447), "LY-TB"),
    "Surman": ((12.5743485, 32.7549766), "LY-ZA"),
    "Brega": ((19.578771, 30.407313), "LY-WA"),
    "Hun": ((15.9402605, 29.1245649), "LY-JU"),
    "Ubari": ((12.7695658, 26.5909391), "LY-WD"),
    "Kufra (Al Jawf)": ((23.2938969, 24.1985492), "LY-KF"),
    "Ghadames": ((9.4900658, 30.1258404), "LY-NL"),
}

# Geodesic areas (km²) in an equal-area CRS. Wikipedia's 2007 district table gives Tripoli 835 km²;
# Natural Earth's outdated "Tripoli" is about three times that. Libya is ~1.76 million km².
EQUAL_AREA = "EPSG:6933"

# Areas (km², EPSG:6933) of OCHA's ADM2 polygons, computed from geoBoundaries gbHumanitarian LBY ADM2
# (wmgeolab/geoBoundaries@06e203639271, geoBoundaries-LBY-ADM2_simplified.geojson; CC BY 3.0 IGO).
# Kufra and Ejdabia from a thinned vertex list (straight desert borders), the others from all vertices.
OCHA_ADM2_AREA_KM2 = {
    "LY-TB": 843,  # Tripoli, LY0211
    "LY-SB": 17_232,  # Sebha, LY0319
    "LY-WD": 32_405,  # Ubari, LY0320
    "LY-WS": 101_636,  # Wadi Ashshati, LY0318
    "LY-JU": 115_948,  # Aljufra, LY0317
    "LY-KF": 420_950,  # Alkufra, LY0107
    "LY-WA": 197_157,  # Ejdabia, LY0105
}


@pytest.fixture(scope="module")
def gdf() -> gpd.GeoDataFrame:
    g = gpd.read_file(GEOJSON)
    assert g.crs is not None and g.crs.to_epsg() == 4326
    return g.set_index("iso_code", drop=False)


@pytest.fixture(scope="module")
def seats() -> dict[str, Point]:
    with open(DISTRICTS_CSV, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {r["id"].removeprefix("iso:"): Point(float(r["lon"]), float(r["lat"])) for r in rows}


@pytest.fixture(scope="module")
def areas_km2(gdf) -> dict[str, float]:
    return (gdf.to_crs(EQUAL_AREA).area / 1e6).to_dict()


def test_22_features_with_unique_iso_codes(gdf):
    assert len(gdf) == 22
    assert gdf["iso_code"].is_unique
    assert set(gdf["iso_code"]) == ISO_3166_2_LY


def test_properties_present(gdf):
    for col in ("iso_code", "name_en", "name_ar", "wof_id", "source"):
        assert col in gdf.columns
        assert gdf[col].notna().all() and (gdf[col].astype(str).str.len() > 0).all(), col
    assert gdf.loc["LY-TB", "name_en"] == "Tripoli"
    assert gdf.loc["LY-TB", "name_ar"] == "طرابلس"


def test_valid_polygons(gdf):
    assert set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}
    assert gdf.is_valid.all()
    assert not gdf.is_empty.any()
    minx, miny, maxx, maxy = gdf.total_bounds
    assert 9 <= minx and maxx <= 25.5 and 19 <= miny and maxy <= 34  # Libya, lon/lat order


def test_file_small():
    assert GEOJSON.stat().st_size < 1_000_000


def test_csv_matches_iso_list(seats):
    assert set(seats) == ISO_3166_2_LY


def test_each_seat_inside_its_district(gdf, seats):
    for iso, seat in seats.items():
        assert gdf.loc[iso, "geometry"].contains(seat), f"{iso} seat {seat.wkt} outside its polygon"


def test_each_seat_in_exactly_one_district(gdf, seats):
    pts = gpd.GeoDataFrame({"iso": list(seats)}, geometry=list(seats.values()), crs="EPSG:4326")
    polys = gdf[["iso_code", "geometry"]].reset_index(drop=True)
    joined = gpd.sjoin(pts, polys, predicate="within", how="left")
    assert (joined["iso"] == joined["iso_code"]).all()
    assert joined["iso"].is_unique


def test_union_covers_main_cities(gdf):
    union = gdf.union_all()
    for city, ((lon, lat), iso) in MAIN_CITIES.items():
        pt = Point(lon, lat)
        assert union.covers(pt), city
        assert gdf.loc[iso, "geometry"].covers(pt), f"{city} not in {iso}"


def test_tripoli_area_small(areas_km2):
    # Wikipedia (2007 districts): 835 km². Natural Earth's old Tripoli polygon is ~3x too large.
    assert 500 < areas_km2["LY-TB"] < 2000


def test_areas_plausible(areas_km2):
    total = sum(areas_km2.values())
    assert 1.5e6 < total < 1.8e6  # Libya ~1.76 million km²
    # small coastal districts
    for iso in ("LY-TB", "LY-JI", "LY-ZA"):
        assert areas_km2[iso] < 5_000, iso
    for iso in ("LY-NQ", "LY-MB", "LY-JA"):
        assert areas_km2[iso] < 15_000, iso
    # the big desert districts
    for iso in ("LY-KF", "LY-MQ", "LY-WA"):
        assert areas_km2[iso] > 150_000, iso
    assert max(areas_km2, key=areas_km2.get) == "LY-KF"
    assert min(areas_km2, key=areas_km2.get) == "LY-TB"


def test_areas_agree_with_ocha(areas_km2):
    for iso, ocha in OCHA_ADM2_AREA_KM2.items():
        assert abs(areas_km2[iso] - ocha) / ocha < 0.05, (iso, round(areas_km2[iso]), ocha)


def test_no_large_overlaps(gdf):
    g = gdf.to_crs(EQUAL_AREA)
    overlap = g.area.sum() - g.union_all().area
    assert overlap / 1e6 < 100  # km², simplification slivers only


def test_region_aliases_cover_all_districts():
    with open(ALIASES_CSV, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and set(rows[0]) == {"alias", "iso_code", "note"}
    assert {r["iso_code"] for r in rows} == ISO_3166_2_LY
    by_alias: dict[str, str] = {}
    for r in rows:
        assert by_alias.setdefault(r["alias"], r["iso_code"]) == r["iso_code"], r["alias"]
    # OCHA / geoBoundaries ADM2 names and the old WOF/Natural Earth name of Tripoli
    for alias, iso in {"Tobruk": "LY-BU", "Ejdabia": "LY-WA", "Ubari": "LY-WD", "Zwara": "LY-NQ",
                       "Tajura' wa an Nawahi al Arba": "LY-TB", "Tripoli": "LY-TB"}.items():
        assert by_alias[alias] == iso


def test_build_fails_loudly_without_22_codes(tmp_path):
    """The build must refuse WOF data that does not yield exactly the 22 ISO codes."""
    import json

    from gazetteer.build_districts import BuildError, read_wof_regions

    record = {
        "type": "Feature",
        "properties": {"wof:id": 1, "wof:placetype": "region", "mz:is_current": 1,
                       "wof:concordances": {"iso:code": "LY-TB"}, "name:ara_x_preferred": ["طرابلس"]},
        "geometry": {"type": "Polygon", "coordinates": [[[13, 32], [13.5, 32], [13.5, 33], [13, 32]]]},
    }
    (tmp_path / "1.geojson").write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(BuildError, match="22"):
        read_wof_regions(tmp_path)
