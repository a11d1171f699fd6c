"""Districts as polygons: the gazetteer's 22 ISO 3166-2:LY districts or a user's boundary file
(OCHA, geoBoundaries, GADM ...) whose names map to ISO codes through
`gazetteer/data/region_aliases.csv`; and the district each event gets by spatial join (at
ingest, and again by `marsad query --rejoin` after the regions change).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

DATA_DIR = Path(__file__).resolve().parent.parent / "gazetteer" / "data"
DISTRICTS_GEOJSON = DATA_DIR / "districts.geojson"
REGION_ALIASES_CSV = DATA_DIR / "region_aliases.csv"
REGION_DISTRICTS_CSV = DATA_DIR / "region_districts.csv"
CRS = "EPSG:4326"
# Name fields of common boundary datasets, tried in order when --name-field is not given.
NAME_FIELDS = ("iso_code", "shapeISO", "ADM1_PCODE", "ADM2_EN", "ADM1_EN", "shapeName",
               "NAME_1", "NAME_2", "name_en", "name", "NAME")


class QueryError(ValueError):
    """A query that cannot be answered as asked; the message is one line for the user."""


# -- regions -------------------------------------------------------------------------------------
def name_key(name: str) -> str:
    from geo.text import normalize_name

    return (normalize_name(str(name)) or str(name).strip()).casefold()


@lru_cache(maxsize=1)
def region_names() -> dict[str, tuple[str, str]]:
    """{normalised name: (ISO code, the name as written)}: district codes and English and Arabic
    names, then region_aliases.csv (Tobruk -> LY-BU)."""
    out: dict[str, tuple[str, str]] = {}
    d = gpd.read_file(DISTRICTS_GEOJSON)
    for iso, en, ar in zip(d["iso_code"], d["name_en"], d["name_ar"]):
        for n in (iso, en, ar):
            out.setdefault(name_key(n), (iso, n))
    with open(REGION_ALIASES_CSV, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(name_key(row["alias"]), (row["iso_code"], row["alias"]))
    return out


def _aliases() -> dict[str, str]:
    """{normalised alias: ISO code}."""
    return {k: iso for k, (iso, _) in region_names().items()}


def iso_code_for(name: str) -> str | None:
    """The ISO 3166-2:LY code of a district name as any dataset spells it (Tobruk -> LY-BU)."""
    if name is None:
        return None
    s = str(name).strip()
    if re.fullmatch(r"(?i)LY-[A-Z]{2}", s):
        return s.upper()
    return _aliases().get(name_key(s))


@dataclass
class Regions:
    """District polygons keyed by ISO code: `gdf` has columns code, name, geometry (EPSG:4326).
    `unmapped` lists names of a user file that no alias maps to an ISO code (their own name is
    their code)."""
    gdf: gpd.GeoDataFrame
    source: str
    unmapped: list[str] = field(default_factory=list)

    def __post_init__(self):
        self._by_code = {c: g for c, g in zip(self.gdf["code"], self.gdf.geometry)}
        for g in self._by_code.values():
            shapely.prepare(g)

    @property
    def codes(self) -> list[str]:
        return list(self._by_code)

    def geometry(self, code: str) -> BaseGeometry | None:
        return self._by_code.get(code)

    def names(self) -> dict[str, str]:
        """{normalised name: code}: the file's names, then every alias of its codes."""
        out = {name_key(n): c for n, c in zip(self.gdf["name"], self.gdf["code"]) if n}
        for alias, iso in _aliases().items():
            if iso in self._by_code:
                out.setdefault(alias, iso)
        return out

    def codes_at(self, lon, lat) -> list[list[str]]:
        """For each point, the codes of every region it lies in or on (sorted)."""
        pts = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        out: list[list[str]] = [[] for _ in range(len(pts))]
        if not len(pts):
            return out
        pi, ri = self.gdf.sindex.query(pts, predicate="intersects")
        codes = list(self.gdf["code"])
        for p, r in zip(pi, ri):
            out[p].append(codes[r])
        return [sorted(c) for c in out]


@lru_cache(maxsize=1)
def _default_regions() -> Regions:
    d = gpd.read_file(DISTRICTS_GEOJSON).to_crs(CRS)
    gdf = gpd.GeoDataFrame({"code": d["iso_code"], "name": d["name_en"]},
                           geometry=d.geometry.make_valid(), crs=CRS)
    return Regions(gdf, str(DISTRICTS_GEOJSON))


def load_regions(path: str | Path | None = None, name_field: str | None = None) -> Regions:
    """The gazetteer's 22 districts, or the regions of a user boundary file (any format geopandas
    reads). Rows with the same code (a district split into parts) are merged.

    >>> load_regions("lby_admbnda_adm2.shp", "ADM2_EN").codes[:2]     # doctest: +SKIP
    ['LY-DR', 'LY-MJ']
    """
    if path is None:
        return _default_regions()
    p = Path(path)
    if not p.exists():
        raise QueryError(f"regions file {p} does not exist")
    try:
        raw = gpd.read_file(p)
    except Exception as exc:  # noqa: BLE001 - pyogrio raises many kinds
        raise QueryError(f"cannot read regions file {p}: {str(exc).splitlines()[0]}") from None
    if raw.empty or raw.geometry is None or not raw.geom_type.isin(
            ["Polygon", "MultiPolygon"]).any():
        raise QueryError(f"regions file {p} has no polygons")
    if name_field is None:
        name_field = next((f for f in NAME_FIELDS if f in raw.columns), None)
        if name_field is None:
            fields = ", ".join(c for c in raw.columns if c != "geometry")
            raise QueryError(f"regions file {p}: say which field holds the names with "
                             f"--name-field (fields: {fields})")
    elif name_field not in raw.columns:
        raise QueryError(f"regions file {p} has no field {name_field!r} (fields: "
                         f"{', '.join(c for c in raw.columns if c != 'geometry')})")
    raw = raw[raw.geom_type.isin(["Polygon", "MultiPolygon"])]
    raw = raw.set_crs(CRS) if raw.crs is None else raw.to_crs(CRS)
    names = [str(n) if n is not None else "" for n in raw[name_field]]
    codes, unmapped = [], []
    for n in names:
        iso = iso_code_for(n)
        if iso is None:
            unmapped.append(n)
        codes.append(iso or n)
    gdf = gpd.GeoDataFrame({"code": codes, "name": names},
                           geometry=shapely.make_valid(raw.geometry.values), crs=CRS)
    gdf = gdf.dissolve(by="code", as_index=False, aggfunc="first")[["code", "name", "geometry"]]
    return Regions(gdf, str(p), sorted(set(unmapped)))


@lru_cache(maxsize=1)
def region_districts() -> dict[str, tuple[str, ...]]:
    """{gazetteer region id: its district codes} (Tripolitania, Cyrenaica, Fezzan ...)."""
    with open(REGION_DISTRICTS_CSV, encoding="utf-8", newline="") as fh:
        return {r["region_id"]: tuple(r["districts"].split()) for r in csv.DictReader(fh)}



def area_of_place(place_id: str | None, district: str | None, gaz, regions: Regions
                   ) -> tuple[tuple[str, ...], BaseGeometry | None, tuple[float, float] | None]:
    """(district codes, geometry, gazetteer point) of the area an area-only event stands for."""
    cache = regions.__dict__.setdefault("_area_cache", {})
    k = (place_id, district, id(gaz))
    if k not in cache:
        cache[k] = _area_uncached(place_id, district, gaz, regions)
    return cache[k]


def _area_uncached(place_id, district, gaz, regions: Regions):
    p = gaz.get(place_id) if (gaz is not None and place_id) else None
    codes: tuple[str, ...] = ()
    if p is not None and p.kind == "district":
        codes = (p.id.removeprefix("iso:"),)
    elif p is not None and p.id in region_districts():
        codes = region_districts()[p.id]
    elif p is not None and p.kind == "country" and p.id == "iso:LY":
        codes = tuple(regions.codes)
    elif district:
        codes = (district,)
    geoms = [regions.geometry(c) for c in codes]
    geom = shapely.union_all([g for g in geoms if g is not None]) if codes and all(
        g is not None for g in geoms) else None
    return codes, geom, ((p.lon, p.lat) if p is not None else None)



# -- districts of stored events ------------------------------------------------------------------
def joined_districts(df: pd.DataFrame, regions: Regions, gaz) -> list[str | None]:
    """The district each event gets by spatial join: the region its point lies in (the first
    code in order when it lies on a border); for area-only events (geo_precision 3) the
    district their area is, or None for an area larger than one district."""
    lon = pd.to_numeric(df["lon"], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    at = [[] for _ in range(len(df))]
    idx = np.flatnonzero(ok)
    for i, codes in zip(idx, regions.codes_at(lon[ok], lat[ok])):
        at[i] = codes
    out: list[str | None] = []
    for i, (prec, pid, dist) in enumerate(zip(df["geo_precision"], df["place_id"],
                                              df["district"])):
        if prec == 3:
            codes, _, _ = area_of_place(pid, None, gaz, regions)
            if len(codes) == 1 and codes[0] in regions.codes:
                out.append(codes[0])
                continue
            if codes:
                out.append(None)
                continue
        if not at[i]:
            out.append(None)
        elif dist in at[i]:
            out.append(dist)  # on a border: keep the stored one of the two
        else:
            out.append(at[i][0])
    return out


def assign_districts(events: list[dict], regions: Regions, gaz) -> None:
    """Set the `district` of each event dict (lon, lat, geo_precision, place_id, district) by
    spatial join with `regions`, as `joined_districts` decides it."""
    if not events:
        return
    df = pd.DataFrame({k: [e.get(k) for e in events]
                       for k in ("lon", "lat", "geo_precision", "place_id", "district")})
    for e, code in zip(events, joined_districts(df, regions, gaz)):
        e["district"] = code
