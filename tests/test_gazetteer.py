"""Invariants of the shipped gazetteer and of its build."""

import csv
import json
from collections import Counter

import pytest

from gazetteer.load import DATA_DIR, DEFAULT_PATH, read_places
from gazetteer.model import FACILITY_KINDS, LIBYA_BBOX, GazetteerError, Place
from gazetteer.sources import CURATED_DIR, curated_places

# ISO 3166-2:LY lists 22 districts (sha'biyat)
ISO_LY = {"LY-BA", "LY-BU", "LY-DR", "LY-GT", "LY-JA", "LY-JG", "LY-JI", "LY-JU", "LY-KF",
          "LY-MB", "LY-MI", "LY-MJ", "LY-MQ", "LY-NL", "LY-NQ", "LY-SB", "LY-SR", "LY-TB",
          "LY-WA", "LY-WD", "LY-WS", "LY-ZA"}


@pytest.fixture(scope="module")
def places():
    return read_places(DEFAULT_PATH)


@pytest.fixture(scope="module")
def curated():
    out = []
    for f in sorted(CURATED_DIR.glob("*.csv")):
        out += [(f.name, p) for p in curated_places(f)]
    return out


def test_ids_are_unique(places):
    ids = Counter(p.id for p in places)
    assert [i for i, n in ids.items() if n > 1] == []


def test_every_record_has_arabic_and_english_names(places):
    missing = [p.id for p in places if not (p.name_ar and p.name_en)]
    assert missing == []


def test_libyan_records_lie_in_libya_and_in_a_district(places):
    w, s, e, n = LIBYA_BBOX
    for p in places:
        if p.in_libya:
            assert w <= p.lon <= e and s <= p.lat <= n, p.id
            if p.kind not in ("country", "region"):
                assert p.district in ISO_LY, p.id


def test_abroad_records_are_marked_and_outside_libya(places):
    abroad = [p for p in places if not p.in_libya]
    assert len(abroad) >= 80
    names = {p.name_en for p in abroad}
    for must in ("Egypt", "Cairo", "Minya", "Tunisia", "Chad", "Sudan", "Niger", "Algeria"):
        assert must in names, must
    for p in abroad:
        assert p.district is None


def test_contents_meet_the_minimums(places):
    kinds = Counter(p.kind for p in places)
    populated = [p for p in places if p.in_libya and p.name_ar
                 and p.kind in ("city", "town", "village", "neighbourhood")]
    assert len(populated) >= 800
    assert sum(kinds[k] for k in FACILITY_KINDS) >= 80
    assert {p.district for p in places if p.kind == "district"} == ISO_LY
    regions = {p.name_en for p in places if p.kind == "region"}
    assert {"Tripolitania", "Cyrenaica", "Fezzan", "East Libya", "West Libya", "South Libya",
            "Oil Crescent", "Nafusa Mountains"} <= regions


def test_curated_neighbourhoods_cover_the_big_cities(curated):
    nb = [p for name, p in curated if name == "neighbourhoods.csv"]
    assert len(nb) >= 100
    parents = Counter(p.parent for p in nb)
    assert parents["osm:n1699640925"] >= 40  # Tripoli
    assert parents["osm:n1312442225"] >= 10  # Benghazi


def test_every_curated_record_names_its_sources(curated):
    for name, p in curated:
        assert p.source, (name, p.id)
        if not p.second_source:
            # no second source agrees: the record carries an explicit low precision
            assert p.precision == "low" and p.precision_note, (name, p.id)


def test_precision_notes_explain_approximate_records(curated):
    for name, p in curated:
        if p.precision != "exact":
            assert p.precision_note, (name, p.id)


def test_district_seats_lie_in_their_polygons():
    import geopandas as gpd
    from shapely.geometry import Point

    districts = gpd.read_file(DATA_DIR / "districts.geojson").set_index("iso_code")
    for p in curated_places(CURATED_DIR / "districts.csv"):
        code = p.id.removeprefix("iso:")
        assert districts.loc[code].geometry.covers(Point(p.lon, p.lat)), code


def test_region_aliases_map_to_iso_codes():
    rows = list(csv.DictReader(open(DATA_DIR / "region_aliases.csv", encoding="utf-8")))
    assert {r["iso_code"] for r in rows} == ISO_LY
    aliases = {r["alias"].lower(): r["iso_code"] for r in rows}
    # OCHA's names differ from ISO's: Tobruk is Al Butnan, Ejdabia is Al Wahat ...
    assert aliases["tobruk"] == "LY-BU" and aliases["ejdabia"] == "LY-WA"
    assert aliases["ubari"] == "LY-WD" and aliases["zwara"] == "LY-NQ"


def test_bad_records_are_rejected_with_their_location(tmp_path):
    good = Place(id="x:1", name_ar="س", name_en="S", kind="town", lat=32.0, lon=13.0)
    path = tmp_path / "g.jsonl"
    path.write_text(json.dumps(good.to_dict()) + "\n" + '{"id": "x:2", "kind": "town"}\n',
                    encoding="utf-8")
    with pytest.raises(GazetteerError, match="g.jsonl:2"):
        read_places(path)
    with pytest.raises(GazetteerError, match="outside Libya"):
        Place.from_dict({**good.to_dict(), "lat": 48.85, "lon": 2.35})


def test_build_reproduces_the_shipped_file(tmp_path):
    """The shipped gazetteer is the build's output, not a hand-edited file."""
    from gazetteer.build import build

    out = tmp_path / "gazetteer.jsonl"
    build(out)
    assert out.read_text(encoding="utf-8") == DEFAULT_PATH.read_text(encoding="utf-8")


def test_lookup_ranks_fuzzy_and_latin_names(gaz):
    assert gaz.lookup("طرابس")[0].place.name_en == "Tripoli"
    assert gaz.lookup("Tarabulus")[0].place.name_en == "Tripoli"
    assert gaz.lookup("Jufrah")[0].place.id == "iso:LY-JU"
    assert gaz.lookup("بنغازى")[0].place.name_en == "Benghazi"
    assert gaz.lookup("zzzzqqq") == []


def test_parents_exist(places):
    ids = {p.id for p in places}
    dangling = sorted({p.parent for p in places if p.parent and p.parent not in ids})
    assert dangling == []
