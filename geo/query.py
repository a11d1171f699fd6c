"""Questions by place: the stored events in a district, a bounding box, a polygon, or within N km
of a place, narrowed by faction, type, dates and confidence. `marsad query` only wires it.

>>> gdf = query_events("events.gpkg", region="الجفرة", since="2019-04")      # doctest: +SKIP

Exactness rules (what "in" means):

- **Points** (geo_precision 1 or 2) are tested against the area itself: inside a polygon or on
  its border (borders are inclusive, so a point on the border of two districts is in both),
  inside a bbox or on its edges, or at a geodesic distance on WGS84 (`pyproj.Geod`) of at most
  N km (to within a micrometre, so a point computed at exactly N km counts).
- **Areas** (geo_precision 3: only the district or region is known) are included when their
  whole area lies inside the query area, and flagged `area_only`. For district and region
  queries this is decided by district code (Jufra's events are in Jufra, Fezzan's events are in
  neither Sabha nor Jufra); for bbox, polygon and radius queries by geometry.
- **Cities** (a name that is a city, or `region_kind="city"`): the events at the city or at any
  place below it in the gazetteer hierarchy (neighbourhoods, facilities: `parent` ids).

Speed: candidates come from the GeoPackage R-tree `rtree_events_geom` (the query area's bbox),
attribute filters run in the same SQL, and the exact test is vectorised (shapely, pyproj) over
the candidates only. The R-tree holds float32 boxes rounded outwards, so exact tests use the
`lon`/`lat` columns (doubles), never the R-tree's numbers.

Regions come from the gazetteer's 22 district polygons, or from a user file (OCHA, geoBoundaries,
GADM; anything geopandas reads) whose names map to ISO 3166-2:LY codes through
`gazetteer/data/region_aliases.csv` (Tobruk -> LY-BU, Ejdabia -> LY-WA ...).
"""

from __future__ import annotations

import calendar
import difflib
import gc
import json
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from geopandas.array import GeometryArray
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from geo.columns import event_columns, rows_in_box, take_rows, values_at
from geo.exports import date_range_sql, json_ready
from geo.regions import (
    CRS,
    QueryError,
    Regions,
    area_of_place,
    iso_code_for,
    joined_districts,
    load_regions,
    name_key,
    region_districts,
)
from geo.store import LISTING_COLUMNS, EventStore, StoreError, open_store

GEOD = Geod(ellps="WGS84")
# A point computed at exactly N km comes back from Geod.inv a few nanometres off.
DISTANCE_TOLERANCE_M = 1e-6
QUERY_COLUMNS = LISTING_COLUMNS + ["place_id", "area_only"]
_TEXT_COLUMNS = [c for c in QUERY_COLUMNS if c not in (
    "lat", "lon", "confidence", "geo_precision", "fatalities", "injuries", "actors", "area_only")]
SPHERE_M = 6_371_008.8  # mean Earth radius (IUGG)
SPHERE_MARGIN = 0.02  # the sphere's distances differ from WGS84's by less than 0.6 %


def _sphere_m(lon0: float, lat0: float, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Great-circle distances in metres on the mean sphere (haversine), vectorised."""
    p0, p = math.radians(lat0), np.radians(lat)
    h = (np.sin((p - p0) / 2) ** 2
         + math.cos(p0) * np.cos(p) * np.sin(np.radians(lon - lon0) / 2) ** 2)
    return 2 * SPHERE_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


# -- the query area ------------------------------------------------------------------------------
@dataclass
class QueryArea:
    """What a query covers. `codes` (district and region queries) decide area-only events by
    code; `place_ids` (city queries) select events by place hierarchy."""
    kind: str  # district | region | city | bbox | polygon | radius
    label: str
    geometry: BaseGeometry | None = None
    codes: frozenset = frozenset()
    place_ids: frozenset = frozenset()
    center: tuple[float, float] | None = None  # lon, lat
    radius_m: float | None = None
    note: str | None = None  # for stderr: which reading of an ambiguous name was used

    def search_bounds(self, gaz) -> tuple[float, float, float, float]:
        """(west, south, east, north) that every matching event lies in."""
        if self.kind == "city":
            pts = [(p.lon, p.lat) for p in map(gaz.get, self.place_ids) if p is not None]
            xs, ys = zip(*pts)
            return min(xs), min(ys), max(xs), max(ys)
        if self.kind == "radius":
            lon, lat = self.center
            az = np.linspace(0, 360, 145)
            x, y, _ = GEOD.fwd(np.full(az.shape, lon), np.full(az.shape, lat), az,
                               np.full(az.shape, self.radius_m * 1.001 + 1))
            return float(x.min()), float(y.min()), float(x.max()), float(y.max())
        return self.geometry.bounds

    def covers_points(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        if self.kind == "radius":
            # the great-circle distance on a sphere is within 0.6 % of the geodesic one on
            # WGS84: only points near the circle need the (slow) geodesic test
            clon, clat = self.center
            rough = _sphere_m(clon, clat, lon, lat)
            out = rough <= self.radius_m * (1 - SPHERE_MARGIN)
            near = np.flatnonzero(~out & (rough <= self.radius_m * (1 + SPHERE_MARGIN) + 1))
            if near.size:
                _, _, dist = GEOD.inv(np.full(near.size, clon), np.full(near.size, clat),
                                      lon[near], lat[near])
                out[near] = dist <= self.radius_m + DISTANCE_TOLERANCE_M
            return out
        return shapely.intersects_xy(self.geometry, lon, lat)

    def covers_area(self, area_codes: tuple[str, ...], area_geom: BaseGeometry | None) -> bool:
        if self.codes and area_codes:
            return set(area_codes) <= self.codes
        if area_geom is None or self.kind == "city":
            return False
        if self.kind == "radius":
            ring = shapely.get_coordinates(area_geom.boundary)
            clon, clat = self.center
            _, _, dist = GEOD.inv(np.full(len(ring), clon), np.full(len(ring), clat),
                                  ring[:, 0], ring[:, 1])
            return bool((dist <= self.radius_m + DISTANCE_TOLERANCE_M).all())
        return bool(self.geometry.covers(area_geom))


def parse_bbox(text: str) -> QueryArea:
    """'W,S,E,N' in degrees -> a bbox area; QueryError on anything else."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        w, s, e, n = (float(p) for p in parts)
    except ValueError:
        raise QueryError(f"--bbox {text!r}: give four numbers W,S,E,N "
                         "(e.g. 12.9,32.6,13.5,33.0)") from None
    if not all(map(math.isfinite, (w, s, e, n))):
        raise QueryError(f"--bbox {text!r}: the numbers must be finite")
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        raise QueryError(f"--bbox {text!r}: longitudes must lie in -180..180, latitudes in -90..90")
    if w > e or s > n:
        raise QueryError(f"--bbox {text!r}: west must not exceed east, south must not exceed "
                         "north (order W,S,E,N)")
    return QueryArea("bbox", f"bbox {w},{s},{e},{n}", shapely.box(w, s, e, n))


def polygon_area(path: str | Path) -> QueryArea:
    """The union of the polygons of a file (GeoJSON, GeoPackage, Shapefile ...), EPSG:4326 (a
    file without a CRS is taken to be in it)."""
    p = Path(path)
    if not p.exists():
        raise QueryError(f"--within {p}: no such file")
    try:
        gdf = gpd.read_file(p)
    except Exception as exc:  # noqa: BLE001
        why = str(exc).split("; ")[0] if str(exc) else type(exc).__name__
        raise QueryError(f"--within {p}: not a readable polygon file ({why})") from None
    if gdf.geometry is None or gdf.empty:
        raise QueryError(f"--within {p}: the file holds no geometries")
    gdf = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    if gdf.empty:
        raise QueryError(f"--within {p}: the file holds no polygons")
    gdf = gdf.set_crs(CRS) if gdf.crs is None else gdf.to_crs(CRS)
    geom = shapely.make_valid(shapely.union_all(gdf.geometry.values))
    if geom.is_empty:
        raise QueryError(f"--within {p}: the polygons are empty")
    shapely.prepare(geom)
    return QueryArea("polygon", f"polygon {p.name}", geom)


def _district_area(code: str, regions: Regions, note: str | None = None) -> QueryArea:
    geom = regions.geometry(code)
    if geom is None:
        raise QueryError(f"district {code} is not in the regions file {regions.source}")
    name = regions.gdf.loc[regions.gdf["code"] == code, "name"].iloc[0]
    return QueryArea("district", f"district {name} ({code})", geom, codes=frozenset({code}),
                     note=note)


def _region_area(place, regions: Regions, note: str | None = None) -> QueryArea:
    codes = region_districts().get(place.id)
    if not codes:
        raise QueryError(f"{place.name_en!r} is a region without a boundary; use "
                         f"--near {place.name_en!r} --km N")
    geoms = [regions.geometry(c) for c in codes if regions.geometry(c) is not None]
    geom = shapely.union_all(geoms)
    shapely.prepare(geom)
    return QueryArea("region", f"region {place.name_en} ({' '.join(codes)})", geom,
                     codes=frozenset(codes), note=note)


def city_hierarchy(gaz, place_id: str) -> frozenset:
    """`place_id` and every gazetteer place below it (neighbourhoods, facilities ...)."""
    children: dict[str, list[str]] = {}
    for p in gaz.places:
        if p.parent:
            children.setdefault(p.parent, []).append(p.id)
    out, todo = {place_id}, [place_id]
    while todo:
        for c in children.get(todo.pop(), ()):
            if c not in out:
                out.add(c)
                todo.append(c)
    return frozenset(out)


def _city_area(place, gaz, note: str | None = None) -> QueryArea:
    ids = city_hierarchy(gaz, place.id)
    return QueryArea("city", f"city {place.name_en} ({place.id}, {len(ids) - 1} places within)",
                     place_ids=ids, note=note)


_SETTLEMENTS = ("city", "town", "village")


def resolve_region(name: str, gaz, regions: Regions | None = None, *,
                   kind: str | None = None) -> QueryArea:
    """The area a region name stands for, in Arabic or English, fuzzy: a district (by ISO code,
    name, alias or gazetteer record), a historical region (Fezzan), or a city with the places
    below it. A name that is both a city and a district means the district unless
    `kind="city"`; the area's `note` then names the other reading.

    >>> resolve_region("Jufrah", load_gazetteer()).codes                # doctest: +SKIP
    frozenset({'LY-JU'})
    """
    regions = regions or load_regions()
    if not str(name or "").strip():
        raise QueryError("--region needs a name")
    key = name_key(name)
    names = regions.names()
    district = names.get(key) or (iso_code_for(name) if iso_code_for(name) in regions.codes
                                  else None)
    cands = gaz.lookup(name, limit=10, min_score=85) if gaz is not None else []
    top = max((c.score for c in cands), default=0)
    best = [c for c in cands if c.score >= top - 0.01]
    city = next((c.place for c in best if c.place.kind in _SETTLEMENTS and c.place.in_libya),
                None)
    region = next((c.place for c in best if c.place.kind == "region"), None)
    if district is None:
        gd = next((c.place for c in best if c.place.kind == "district"), None)
        if gd is not None and gd.id.removeprefix("iso:") in regions.codes:
            district = gd.id.removeprefix("iso:")
    if district is None and region is None and city is None:
        # a misspelt district name or alias
        from rapidfuzz import fuzz, process

        hit = process.extractOne(key, list(names), scorer=fuzz.ratio, score_cutoff=85)
        if hit:
            district = names[hit[0]]
    if kind == "city":
        if city is None:
            raise QueryError(f"{name!r} is not a city in the gazetteer" + _suggest(name, gaz,
                                                                                  regions))
        return _city_area(city, gaz)
    if kind == "district" and district is None:
        raise QueryError(f"{name!r} is not a district" + _suggest(name, gaz, regions))
    if district is not None:
        note = None
        if city is not None:
            note = (f"{name!r} names both a district and a city: using the district "
                    f"{regions.gdf.loc[regions.gdf['code'] == district, 'name'].iloc[0]} "
                    f"({district}); for the city {city.name_en} ({city.id}) and the places in it "
                    f"use --region-kind city")
        return _district_area(district, regions, note)
    if region is not None:
        return _region_area(region, regions)
    if city is not None:
        return _city_area(city, gaz)
    raise QueryError(f"unknown region {name!r}" + _suggest(name, gaz, regions))


def _suggest(name: str, gaz, regions: Regions) -> str:
    """'; did you mean: ...' with the closest district names and gazetteer areas/cities."""
    names = regions.names()
    shown: list[str] = []
    display = dict(zip(regions.gdf["code"], regions.gdf["name"]))
    for k in difflib.get_close_matches(name_key(name), list(names), n=4, cutoff=0.5):
        label = f"{display.get(names[k], k)} ({names[k]})"
        if label not in shown:
            shown.append(label)
    if gaz is not None:
        for c in gaz.lookup(name, limit=8, min_score=60):
            p = c.place
            if p.in_libya and p.kind in ("district", "region", *_SETTLEMENTS):
                label = f"{p.name_en} ({p.kind})"
                if label not in shown:
                    shown.append(label)
    if not shown:
        return f"; districts: {', '.join(sorted(regions.codes))}"
    return f"; did you mean: {', '.join(shown[:6])}?"


def near_area(place: str, km: float, gaz) -> QueryArea:
    """Within `km` (geodesic, WGS84) of a gazetteer place, or of 'lat,lon'."""
    try:
        km = float(km)
    except (TypeError, ValueError):
        raise QueryError(f"--km {km!r} is not a number") from None
    if not (km > 0 and math.isfinite(km)):
        raise QueryError("--km must be a positive number of kilometres")
    m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*", str(place))
    if m:
        lat, lon = float(m[1]), float(m[2])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise QueryError(f"--near {place!r}: give LAT,LON in degrees")
        return QueryArea("radius", f"within {km:g} km of {lat},{lon}", center=(lon, lat),
                         radius_m=km * 1000)
    cands = gaz.lookup(place, limit=5, min_score=85)
    cands = [c for c in cands if c.place.in_libya] or cands
    if not cands:
        raise QueryError(f"unknown place {place!r}" + _suggest(place, gaz, load_regions()))
    top = cands[0].score
    # a city before a district of the same name: 'within 30 km of Derna' means the town
    best = sorted((c for c in cands if c.score >= top - 0.01),
                  key=lambda c: c.place.kind not in _SETTLEMENTS)
    p = best[0].place
    return QueryArea("radius", f"within {km:g} km of {p.name_en} ({p.id})", center=(p.lon, p.lat),
                     radius_m=km * 1000)


# -- dates and filters ---------------------------------------------------------------------------
def parse_date_bound(text: str | None, *, end: bool) -> str | None:
    """YYYY, YYYY-MM or YYYY-MM-DD -> the first (or, with `end`, the last) day it covers."""
    if text is None or str(text).strip() == "":
        return None
    s = str(text).strip()
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?", s)
    what = "--until" if end else "--since"
    if not m:
        raise QueryError(f"{what} {s!r} is not a date (YYYY-MM-DD, YYYY-MM or YYYY)")
    y, mo, d = int(m[1]), m[2], m[3]
    try:
        if mo is None:
            out = f"{y:04d}-12-31" if end else f"{y:04d}-01-01"
        elif d is None:
            mo = int(mo)
            last = calendar.monthrange(y, mo)[1]
            out = f"{y:04d}-{mo:02d}-{last if end else 1:02d}"
        else:
            from datetime import date

            out = date(y, int(mo), int(d)).isoformat()
    except (ValueError, calendar.IllegalMonthError):
        raise QueryError(f"{what} {s!r} is not a valid date") from None
    return out


@dataclass(frozen=True)
class Filters:
    factions: tuple[str, ...] = ()
    types: tuple[str, ...] = ()  # event types or families (fight, remote ...)
    since: str | None = None
    until: str | None = None
    min_confidence: float | None = None

    def types_and_families(self) -> tuple[list[str], list[str]]:
        """`types` split into event types and families (fight, remote ...)."""
        from geo.events import FAMILY

        return ([t for t in self.types if t in FAMILY],
                [t for t in self.types if t not in FAMILY])

    def sql(self) -> tuple[list[str], list]:
        where, params = date_range_sql("e.date", "e.date", self.since, self.until)
        if self.types:
            types, fams = self.types_and_families()
            ors = []
            if types:
                ors.append(f"e.type IN ({','.join('?' * len(types))})")
                params.extend(types)
            if fams:
                ors.append(f"e.family IN ({','.join('?' * len(fams))})")
                params.extend(fams)
            where.append("(" + " OR ".join(ors) + ")")
        if self.min_confidence is not None:
            where.append("e.confidence >= ?")
            params.append(self.min_confidence)
        if self.factions:
            # a coarse text test in SQL; the exact one on the JSON list follows in Python
            where.append("(" + " OR ".join("e.actors LIKE ?" for _ in self.factions) + ")")
            params.extend(f'%"{f}"%' for f in self.factions)
        return where, params


@cache
def _known_factions():
    from geo.factions import load_factions

    return load_factions()


def make_filters(*, factions=(), types=(), since=None, until=None,
                 min_confidence=None) -> Filters:
    """Checked filters: known faction ids and event types/families, dates in order."""
    from geo.events import FAMILY

    factions = tuple(factions or ())
    for f in factions:
        if _known_factions().get(f) is None:
            raise QueryError(f"unknown faction {f!r} (ids as in geo/data/factions.json, "
                             "e.g. LNA, GNA)")
    types = tuple(types or ())
    families = set(FAMILY.values())
    for t in types:
        if t not in FAMILY and t not in families:
            raise QueryError(f"unknown event type {t!r}; one of {', '.join(FAMILY)} or a "
                             f"family ({', '.join(sorted(families))})")
    lo, hi = parse_date_bound(since, end=False), parse_date_bound(until, end=True)
    if lo and hi and lo > hi:
        raise QueryError(f"--since {since} is after --until {until}")
    if min_confidence is not None:
        try:
            min_confidence = float(min_confidence)
        except (TypeError, ValueError):
            raise QueryError(f"--min-confidence {min_confidence!r} is not a number") from None
        if not 0 <= min_confidence <= 1:
            raise QueryError("--min-confidence must lie between 0 and 1")
    return Filters(factions, types, lo, hi, min_confidence)


# -- running a query -----------------------------------------------------------------------------
def _area_places(gaz, regions: Regions) -> list:
    if gaz is None:
        return []
    ids = set(region_districts()) | {"iso:LY"} | {f"iso:{c}" for c in regions.codes}
    return [p for p in map(gaz.get, ids) if p is not None]


def _expand(bounds, gaz, regions: Regions, area: QueryArea) -> tuple:
    """Grow the search box to the gazetteer points of the areas inside the query area, so that
    their area-only events (stored at that point) are among the candidates."""
    w, s, e, n = bounds
    for p in _area_places(gaz, regions):
        codes, geom, _ = area_of_place(p.id, None, gaz, regions)
        if area.covers_area(codes, geom):
            w, s, e, n = min(w, p.lon), min(s, p.lat), max(e, p.lon), max(n, p.lat)
    return w, s, e, n


def _fetch(store, bounds, filters: Filters, columns: list[str], area: QueryArea | None = None
           ) -> pd.DataFrame:
    """Candidates from the store's spatial index (and, in PostGIS, its exact area test). In a
    GeoPackage, only from the grid cells that touch the area (`interior_cells`): a district's
    bounding box also covers much of its neighbours."""
    where, params = filters.sql()
    if hasattr(store, "fetch_in_cells") and area is not None and area.kind != "city":
        cells = [c for part in interior_cells(area, bounds) for c in part]
        if (filters.since or filters.until) and store.count_dated(
                filters.since, filters.until) < store.count_in_cells(cells):
            rows = store.fetch_dated(bounds, filters.since, filters.until, columns, where,
                                     params)  # fewer events in the dates than in the area
        else:
            rows = store.fetch_in_cells(cells, columns, where, params)
    else:
        rows = store.fetch_events(bounds, where, params, columns, area)
    return pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)


# -- counting without fetching every row -----------------------------------------------------------
GRID = 48  # cells per side of the search box for the interior-cell count
_COUNT_COLUMNS = ["lon", "lat", "geo_precision", "place_id", "district"]


def _f32_edges(lo: float, hi: float, n: int) -> np.ndarray:
    """n+1 increasing cell edges from <= lo to > hi, each exactly a float32 (the R-tree's own
    number type: a point's R-tree minx is the largest float32 <= its lon, so a point lies in
    [a, b) exactly when its minx does)."""
    e = np.linspace(lo, hi, n + 1).astype(np.float32)
    e[0] = np.nextafter(np.float32(lo), np.float32(-np.inf))
    e[-1] = np.nextafter(np.float32(hi), np.float32(np.inf))
    return np.unique(e).astype(np.float64)


def interior_cells(area: QueryArea, bounds, n: int = GRID) -> tuple[list, list]:
    """Split `bounds` into an n x n grid of float32-edged cells, merged along rows into runs:
    (runs whose closed box lies wholly inside the area, runs that cross its border), as
    (x0, y0, x1, y1) half-open boxes. Cells wholly outside the area are left out."""
    w, s, e, nn = bounds
    xs, ys = _f32_edges(w, e, n), _f32_edges(s, nn, n)
    x0, y0 = np.meshgrid(xs[:-1], ys[:-1])
    x1, y1 = np.meshgrid(xs[1:], ys[1:])
    if area.kind == "radius":
        clon, clat = area.center

        def dist(px, py):
            return GEOD.inv(np.full(px.shape, clon), np.full(py.shape, clat), px, py)[2]

        inside = np.ones(x0.shape, bool)
        for cx, cy in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
            inside &= dist(cx, cy) <= area.radius_m * 0.995  # convex at these sizes
        # the cell's point nearest the centre in degrees; the margin covers the ellipsoid
        touch = dist(np.clip(clon, x0, x1), np.clip(clat, y0, y1)) <= area.radius_m * 1.005 + 1
        if area.radius_m > 500_000:
            inside[:] = False
            touch[:] = True
    else:
        boxes = shapely.box(x0, y0, x1, y1)
        inside = shapely.covers(area.geometry, boxes)
        touch = inside | shapely.intersects(area.geometry, boxes)
    state = np.where(inside, 2, np.where(touch, 1, 0))  # 2 inside, 1 border, 0 outside
    runs: dict[int, list] = {2: [], 1: [], 0: []}
    for r in range(state.shape[0]):
        row = state[r]
        c = 0
        while c < len(row):
            k = c
            while k + 1 < len(row) and row[k + 1] == row[c]:
                k += 1
            runs[int(row[c])].append((x0[r, c], y0[r, c], x1[r, k], y1[r, k]))
            c = k + 1
    return runs[2], runs[1]


def _count(store, bounds, area: QueryArea, gaz, regions: Regions) -> int:
    """The number of events in `area` (no attribute filters), without fetching the events that
    certainly match: the store counts the points in cells wholly inside the area from its
    spatial index, and only the points in border cells, and the area-only events, are fetched
    and tested exactly."""
    if not hasattr(store, "count_points"):
        inside, border = interior_cells(area, bounds)
        n = store.count_in_cells(inside)
        rows = store.fetch_in_cells(border, _COUNT_COLUMNS)
        areas = store.area_only_in_cells(inside, _COUNT_COLUMNS)
        n -= len(areas)  # counted above as points; decided below by their area
    else:
        n = store.count_points(bounds, area)
        rows = []
        areas = store.area_only(bounds, _COUNT_COLUMNS)
    df = pd.DataFrame.from_records(list(rows) + list(areas), columns=_COUNT_COLUMNS,
                                   coerce_float=True)
    hit, _ = _select(df, area, Filters(), gaz, regions)
    return n + int(hit.sum())


# -- the columnar copy (geo.columns) ---------------------------------------------------------------
def _filter_mask(df: pd.DataFrame, filters: Filters) -> np.ndarray:
    """`Filters.sql()` without its coarse faction test, on a DataFrame (NULLs fail, as in SQL)."""
    ok = np.ones(len(df), bool)
    if filters.since:
        ok &= (df["date"] >= filters.since).fillna(False).to_numpy(bool)
    if filters.until:
        ok &= (df["date"] <= filters.until).fillna(False).to_numpy(bool)
    if filters.types:
        types, fams = filters.types_and_families()
        ok &= (df["type"].isin(types) | df["family"].isin(fams)).to_numpy(bool)
    if filters.min_confidence is not None:
        ok &= (df["confidence"] >= filters.min_confidence).fillna(False).to_numpy(bool)
    return ok


def _select_columns(table, bounds, area: QueryArea, filters: Filters, gaz, regions: Regions
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(row numbers in `table` of the events that match, their area-only flags): candidates
    by the search box on the exact lon/lat, then the same tests as the SQL path."""
    cand = rows_in_box(table, bounds)
    need = []
    if filters.factions:
        need.append("actors")
    if filters.since or filters.until:
        need.append("date")
    if filters.types:
        need += ["type", "family"]
    if filters.min_confidence is not None:
        need.append("confidence")
    if need:
        keep = _filter_mask(take_rows(table.select(need), cand).to_pandas(), filters)
        cand = cand[keep]
    df = pd.DataFrame({c: values_at(table, c, cand) for c in ("lon", "lat", "geo_precision")})
    prec = df["geo_precision"].to_numpy()
    # place and district decide only city queries and area-only events: read them for those
    named = np.arange(len(cand)) if area.kind == "city" else np.flatnonzero(prec == 3)
    extra = take_rows(table.select(["place_id", "district"]), cand[named])
    for c in extra.column_names:
        col = np.full(len(cand), None, dtype=object)
        col[named] = extra.column(c).to_numpy(zero_copy_only=False)
        df[c] = pd.Series(col, dtype=object)
    if filters.factions:
        df["actors"] = pd.Series(take_rows(table.select(["actors"]), cand).column(0).to_numpy(
            zero_copy_only=False), dtype=object)
    hit, area_only = _select(df, area, filters, gaz, regions)
    return cand[hit], area_only[hit]


def _rows_from_columns(table, rows: np.ndarray, area_only: np.ndarray) -> pd.DataFrame:
    """The chosen rows, ordered by date then id (undated last), as `_fetch` columns plus
    `area_only`."""
    chosen = take_rows(table.select(QUERY_COLUMNS[:-1]), rows)  # ascending: a take per block
    dates = chosen.column("date")
    day = pc.strptime(dates, format="%Y-%m-%d", unit="s", error_is_null=True)
    lengths = pc.min_max(pc.utf8_length(dates)).as_py()
    if day.null_count == dates.null_count and lengths["min"] in (None, 10) and lengths[
            "max"] in (None, 10):  # every date a full ISO day: sort numbers, not text
        keys = pa.table({"date": day.cast(pa.int64()), "id": chosen.column("id")})
    else:
        keys = chosen.select(["date", "id"])
    order = pc.sort_indices(keys, sort_keys=[("date", "ascending"), ("id", "ascending")])
    df = chosen.take(order).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    df["area_only"] = area_only[order.to_numpy()]
    return df


def _select(df: pd.DataFrame, area: QueryArea, filters: Filters, gaz,
            regions: Regions) -> tuple[np.ndarray, np.ndarray]:
    """(rows that match, rows that match as area-only events)."""
    n = len(df)
    if n == 0:
        return np.zeros(0, bool), np.zeros(0, bool)
    lon = df["lon"].to_numpy(dtype=float)
    lat = df["lat"].to_numpy(dtype=float)
    prec = pd.to_numeric(df["geo_precision"], errors="coerce").to_numpy()
    is_area = prec == 3
    if area.kind == "city":
        hit = df["place_id"].isin(area.place_ids).to_numpy()
    else:
        ok = np.isfinite(lon) & np.isfinite(lat)
        hit = np.zeros(n, bool)
        pts = ok & ~is_area
        if pts.any():
            hit[pts] = area.covers_points(lon[pts], lat[pts])
        if is_area.any():
            cache: dict = {}
            sub = df.loc[is_area, ["place_id", "district"]]
            flags = []
            for pid, dist in zip(sub["place_id"], sub["district"]):
                k = (pid, dist)
                if k not in cache:
                    codes, geom, _ = area_of_place(pid, dist, gaz, regions)
                    cache[k] = area.covers_area(codes, geom)
                flags.append(cache[k])
            hit[is_area] = flags
    if filters.factions:
        wanted = set(filters.factions)
        ok = {a: bool(wanted & set(json.loads(a or "[]"))) for a in set(df["actors"])}
        fac = np.array([ok[a] for a in df["actors"]], dtype=bool)
        hit &= fac
    return hit, hit & is_area


def _resolve_area(region, bbox, near, km, within, gaz, regions, region_kind) -> QueryArea:
    given = [x for x in (region, bbox, near, within) if x is not None]
    if len(given) != 1:
        raise QueryError("give exactly one of region, bbox, near (with km) or within")
    if km is not None and near is None:
        raise QueryError("--km goes with --near PLACE")
    if region is not None:
        return resolve_region(region, gaz, regions, kind=region_kind)
    if bbox is not None:
        return bbox if isinstance(bbox, QueryArea) else parse_bbox(
            ",".join(map(str, bbox)) if isinstance(bbox, (tuple, list)) else bbox)
    if near is not None:
        if km is None:
            raise QueryError("--near needs --km N")
        return near_area(near, km, gaz)
    if isinstance(within, BaseGeometry):
        geom = shapely.make_valid(within)
        shapely.prepare(geom)
        return QueryArea("polygon", "polygon", geom)
    return polygon_area(within)


def _geodataframe(df: pd.DataFrame) -> gpd.GeoDataFrame:
    """The query result from the chosen rows in order: `QUERY_COLUMNS`, actors as lists,
    numbers typed, a point geometry."""
    codes, sets = pd.factorize(df["actors"])  # few distinct sets; -1 for none
    parsed = np.empty(len(sets) + 1, dtype=object)
    parsed[:] = [json.loads(a) if isinstance(a, str) and a else [] for a in sets] + [[]]
    df["actors"] = pd.Series(list(map(list, parsed[codes])), index=df.index, dtype=object)
    df = df[QUERY_COLUMNS].reset_index(drop=True)
    for c in ("lat", "lon", "confidence"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    for c in ("geo_precision", "fatalities", "injuries"):
        num = pd.to_numeric(df[c], errors="coerce")
        df[c] = num.where(num == num.round()).astype("Int64")  # 2.5 deaths: unknown
    df["area_only"] = df["area_only"].astype(bool)
    for c in _TEXT_COLUMNS:  # one dtype whatever the path (an all-NULL column included)
        df[c] = df[c].astype("str")
    points = shapely.points(np.column_stack([df["lon"].to_numpy(), df["lat"].to_numpy()]))
    return gpd.GeoDataFrame(df, geometry=GeometryArray(points, crs=CRS), copy=False)


@contextmanager
def _gc_paused():
    """No cyclic garbage collection while a result's objects are made: the 100,000 point and
    list objects of a big result would otherwise start several full collections of everything
    the process holds (the gazetteer included), tripling the time. Nothing made here is cyclic."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def run_query(db: str | Path, area: QueryArea, filters: Filters | None = None, *, gaz=None,
              regions: Regions | None = None, count_only: bool = False):
    """Events of the store `db` in `area` that pass `filters`: a GeoDataFrame (or, with
    `count_only`, the number of events)."""
    filters = filters or Filters()
    regions = regions or load_regions()
    if gaz is None:
        from gazetteer.load import load_gazetteer

        gaz = load_gazetteer()
    bounds = area.search_bounds(gaz)
    if area.kind != "city":
        bounds = _expand(bounds, gaz, regions, area)
    columns = (["lon", "lat", "geo_precision", "place_id", "district"]
               + (["actors"] if filters.factions else []) if count_only
               else list(dict.fromkeys(["fid"] + QUERY_COLUMNS[:-1])))
    with open_store(db, create=False) as store, _gc_paused():
        table = event_columns(store) if isinstance(store, EventStore) else None
        if table is not None:
            rows, area_only = _select_columns(table, bounds, area, filters, gaz, regions)
            if count_only:
                return len(rows)
            df = _rows_from_columns(table, rows, area_only)
        elif count_only and not filters.sql()[0] and area.kind != "city":
            return _count(store, bounds, area, gaz, regions)
        else:
            df = _fetch(store, bounds, filters, columns, area)
            hit, area_only = _select(df, area, filters, gaz, regions)
            if count_only:
                return int(hit.sum())
            df = df.loc[hit].copy()
            df["area_only"] = area_only[hit]
            df = df.sort_values(["date", "id"], na_position="last", kind="stable")
        gdf = _geodataframe(df)
    gdf.attrs["area"] = area.label
    gdf.attrs["note"] = area.note
    return gdf


def query_events(db: str | Path, *, region: str | None = None, bbox=None, near: str | None = None,
                 km: float | None = None, within=None, factions=(), types=(), since=None,
                 until=None, min_confidence=None, regions_file=None, name_field=None,
                 region_kind: str | None = None, gazetteer=None, count_only: bool = False):
    """The stored events in one place, as a GeoDataFrame (EPSG:4326, ordered by date) with the
    columns of `marsad events` plus `place_id` and `area_only` (True for events known only at
    district or region precision whose area lies inside the query area).

    Give exactly one of `region` (district, historical region or city, Arabic or English,
    fuzzy), `bbox` ('W,S,E,N' or a 4-tuple), `near` (a place name or 'lat,lon') with `km`, or
    `within` (a polygon file, or a shapely polygon). Dates are inclusive and may be YYYY-MM
    or YYYY. QueryError (one line) for anything that cannot be answered.

    >>> from geo.query import query_events
    >>> jufra = query_events("events.gpkg", region="الجفرة", since="2019-04")  # doctest: +SKIP
    >>> # everything in Jufra district since April 2019
    >>> strikes = query_events("events.gpkg", near="Derna", km=30, factions=["LNA"],
    ...                        types=["airstrike"])                            # doctest: +SKIP
    >>> strikes[["date", "place_en", "actors", "area_only"]]                   # doctest: +SKIP
             date place_en actors  area_only
    0  2017-05-30   Darnah  [LNA]      False
    >>> query_events("events.gpkg", bbox=(12.9, 32.4, 13.4, 32.8),
    ...              count_only=True)                                          # doctest: +SKIP
    7
    """
    if gazetteer is None:
        from gazetteer.load import load_gazetteer

        gazetteer = load_gazetteer()
    regions = load_regions(regions_file, name_field)
    area = _resolve_area(region, bbox, near, km, within, gazetteer, regions, region_kind)
    filters = make_filters(factions=factions, types=types, since=since, until=until,
                           min_confidence=min_confidence)
    return run_query(db, area, filters, gaz=gazetteer, regions=regions, count_only=count_only)


def count_events(db, **kwargs) -> int:
    """`query_events(..., count_only=True)`: only the number of matching events."""
    return query_events(db, count_only=True, **kwargs)


@dataclass
class RejoinResult:
    events: int
    changed: list[dict]  # {id, old, new}
    regions: str


def rejoin_districts(db: str | Path, regions: Regions | None = None, *, gaz=None,
                     dry_run: bool = False) -> RejoinResult:
    """Recompute the `district` of every stored event by spatial join with `regions` (default:
    the gazetteer's districts), in one transaction; with `dry_run` only report the changes."""
    regions = regions or load_regions()
    if gaz is None:
        from gazetteer.load import load_gazetteer

        gaz = load_gazetteer()
    with open_store(db, create=False) as store:
        cols = ["fid", "id", "lon", "lat", "geo_precision", "place_id", "district"]
        df = pd.DataFrame(store.select(f"SELECT {', '.join(cols)} FROM events"), columns=cols)
        new = joined_districts(df, regions, gaz) if len(df) else []
        old = [None if (o is None or o == "" or (isinstance(o, float) and math.isnan(o)))
               else o for o in df["district"]]
        changed = [{"fid": f, "id": i, "old": o, "new": nw}
                   for f, i, o, nw in zip(df["fid"], df["id"], old, new) if o != nw]
        if changed and not dry_run:
            store.update_districts([(c["new"], int(c["fid"])) for c in changed])
    for c in changed:
        c.pop("fid")
    return RejoinResult(len(df), changed, regions.source)


# -- output --------------------------------------------------------------------------------------
def records(gdf: gpd.GeoDataFrame) -> list[dict]:
    """Plain JSON-ready dicts, `QUERY_COLUMNS` in order."""
    return [{c: json_ready(r[c]) for c in QUERY_COLUMNS} for r in gdf[QUERY_COLUMNS].to_dict("records")]


def to_geojson(gdf: gpd.GeoDataFrame) -> dict:
    """RFC 7946 FeatureCollection, Point [lon, lat] to 6 decimals."""
    feats = []
    for rec in records(gdf):
        geometry = None
        if rec["lon"] is not None and rec["lat"] is not None:
            geometry = {"type": "Point", "coordinates": [round(rec["lon"], 6),
                                                         round(rec["lat"], 6)]}
        feats.append({"type": "Feature", "id": rec["id"], "geometry": geometry,
                      "properties": rec})
    return {"type": "FeatureCollection", "features": feats}


__all__ = ["QueryArea", "QueryError", "Regions", "StoreError", "count_events", "load_regions",
           "query_events", "rejoin_districts", "resolve_region", "run_query"]
