"""Build ``gazetteer/data/districts.geojson``: polygons of Libya's 22 districts (ISO 3166-2:LY).

Source of the polygons: Who's On First (WOF), repository ``whosonfirst-data/whosonfirst-data-admin-ly``
(used at commit ``2528885a93b8``). Get it with, for example::

    git clone https://github.com/whosonfirst-data/whosonfirst-data-admin-ly /tmp/wof-ly
    git -C /tmp/wof-ly checkout 2528885a93b8

or download the GitHub archive of that commit and unpack it. Then run::

    python -m gazetteer.build_districts --wof /tmp/wof-ly/data

``--wof`` is a folder that holds WOF's ``*.geojson`` records (searched recursively), e.g. the
repository's ``data/`` folder.

What the script does:

* keeps WOF records with ``wof:placetype == "region"`` that are current (``edtf:deprecated``
  empty/absent and ``mz:is_current`` != 0) and carry ``wof:concordances["iso:code"]``;
* keys them by that ISO 3166-2 code; exactly the 22 codes of ISO 3166-2:LY must result,
  otherwise it stops with an error;
* English names come from ``gazetteer/data/curated/districts.csv`` (WOF's ``wof:name`` for several
  districts is the name of an older, pre-2007 sha'biya, e.g. "Tajura' wa an Nawahi al Arba" for
  LY-TB Tripoli, "Mizdah" for LY-JG, "Al Qubbah" for LY-DR). Arabic names likewise come from
  districts.csv, because WOF's ``name:ara_x_preferred`` has the same problem (تاجوراء والنواحي
  الأربع, مزدة, القبة, العزيزية/الجفرة); WOF's value is kept in the property ``wof_name_ar``;
* repairs invalid geometry with shapely ``make_valid``, simplifies it (topology-preserving,
  tolerance 0.005 degrees), rounds coordinates to 6 decimals;
* checks every district seat from districts.csv still lies inside its polygon;
* writes an RFC 7946 FeatureCollection (WGS84 lon/lat) with properties ``iso_code``, ``name_en``,
  ``name_ar``, ``wof_name_ar``, ``wof_id``, ``source``.

Data from Who's On First, see https://whosonfirst.org/docs/licenses/ (the WOF admin records are
CC-BY 4.0 / derived from sources listed there). See gazetteer/data/curated/NOTES-districts.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import Point, shape
from shapely.validation import make_valid

DATA = Path(__file__).resolve().parent / "data"
DISTRICTS_CSV = DATA / "curated" / "districts.csv"
OUT = DATA / "districts.geojson"

# ISO 3166-2:LY, the 22 sha'biyat (districts) codes.
ISO_LY = frozenset(
    "LY-BA LY-BU LY-DR LY-GT LY-JA LY-JG LY-JI LY-JU LY-KF LY-MB LY-MI "
    "LY-MJ LY-MQ LY-NL LY-NQ LY-SB LY-SR LY-TB LY-WA LY-WD LY-WS LY-ZA".split()
)
TOLERANCE_DEG = 0.005
WOF_COMMIT = "2528885a93b8"
SOURCE = f"whosonfirst-data/whosonfirst-data-admin-ly@{WOF_COMMIT}"


class BuildError(RuntimeError):
    pass


def _clean(text: str) -> str:
    """Drop bidi control marks WOF sometimes leaves in Arabic names."""
    for mark in ("\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e"):
        text = text.replace(mark, "")
    return text.strip()


def _is_current(props: dict) -> bool:
    if props.get("edtf:deprecated"):
        return False
    try:
        if int(props.get("mz:is_current", 1)) == 0:
            return False
    except (TypeError, ValueError):
        pass
    return True


def read_wof_regions(wof_dir: Path) -> dict[str, dict]:
    """Return {iso_code: {"wof_id", "wof_name_ar", "geometry"}} for current WOF regions."""
    found: dict[str, dict] = {}
    files = sorted(wof_dir.rglob("*.geojson"))
    if not files:
        raise BuildError(f"no *.geojson files under {wof_dir}")
    for path in files:
        with open(path, encoding="utf-8") as fh:
            feature = json.load(fh)
        props = feature.get("properties", {})
        if props.get("wof:placetype") != "region" or not _is_current(props):
            continue
        iso = (props.get("wof:concordances") or {}).get("iso:code")
        if not iso:
            continue
        if iso in found:
            raise BuildError(f"two current WOF regions carry {iso}: {found[iso]['wof_id']} and {props['wof:id']}")
        geom = feature.get("geometry")
        if not geom or geom.get("type") not in ("Polygon", "MultiPolygon"):
            raise BuildError(f"WOF {props['wof:id']} ({iso}) has no polygon geometry")
        names_ar = props.get("name:ara_x_preferred") or [""]
        found[iso] = {
            "wof_id": int(props["wof:id"]),
            "wof_name_ar": _clean(names_ar[0]),
            "geometry": shape(geom),
        }
    codes = set(found)
    if codes != ISO_LY:
        raise BuildError(
            f"expected the 22 ISO 3166-2:LY codes, got {len(codes)}; "
            f"missing {sorted(ISO_LY - codes)}, unexpected {sorted(codes - ISO_LY)}"
        )
    return found


def read_districts_csv(path: Path = DISTRICTS_CSV) -> dict[str, dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = {r["id"].removeprefix("iso:"): r for r in csv.DictReader(fh)}
    if set(rows) != ISO_LY:
        raise BuildError(f"{path} must hold exactly the 22 ISO 3166-2:LY districts")
    return rows


def _polygonal(geom):
    """make_valid may return a GeometryCollection; keep only its polygonal parts."""
    geom = make_valid(geom)
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        geom = shapely.union_all(parts)
    return geom


def build(wof_dir: Path, out: Path = OUT, tolerance: float = TOLERANCE_DEG) -> gpd.GeoDataFrame:
    regions = read_wof_regions(wof_dir)
    curated = read_districts_csv()
    codes = sorted(regions)
    geoms = []
    for iso in codes:
        g = _polygonal(regions[iso]["geometry"])
        g = g.simplify(tolerance, preserve_topology=True)
        g = shapely.set_precision(g, 1e-6)  # 6 decimals, keeps the polygon valid
        g = _polygonal(g)
        if g.is_empty or not g.is_valid:
            raise BuildError(f"{iso}: geometry empty or invalid after simplification")
        geoms.append(g)
    gdf = gpd.GeoDataFrame(
        {
            "iso_code": codes,
            "name_en": [curated[c]["name_en"] for c in codes],
            "name_ar": [curated[c]["name_ar"] for c in codes],
            "wof_name_ar": [regions[c]["wof_name_ar"] for c in codes],
            "wof_id": [regions[c]["wof_id"] for c in codes],
            "source": [f"{SOURCE} wof:{regions[c]['wof_id']}" for c in codes],
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    for iso, geom in zip(codes, gdf.geometry):
        seat = Point(float(curated[iso]["lon"]), float(curated[iso]["lat"]))
        if not geom.contains(seat):
            raise BuildError(f"{iso}: seat {seat.wkt} is outside its simplified polygon")
    out.parent.mkdir(parents=True, exist_ok=True)
    # GeoJSON driver writes RFC 7946 (lon/lat, right-hand winding) with RFC7946=YES.
    gdf.to_file(
        out,
        driver="GeoJSON",
        engine="pyogrio",
        layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": "6", "WRITE_NAME": "NO"},
    )
    return gdf


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wof", required=True, type=Path,
                        help="folder with the whosonfirst-data-admin-ly *.geojson records (e.g. its data/)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output GeoJSON (default {OUT})")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE_DEG,
                        help="simplification tolerance in degrees (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        gdf = build(args.wof, args.out, args.tolerance)
    except BuildError as exc:
        print(f"build_districts: {exc}", file=sys.stderr)
        return 1
    size = args.out.stat().st_size
    print(f"wrote {len(gdf)} districts to {args.out} ({size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
