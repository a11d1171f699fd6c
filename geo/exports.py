"""Exports of the event store for GIS and analysis tools: GeoJSON (RFC 7946), GeoPackage, and
an ACLED-like CSV. Plain functions over GeoDataFrames; `marsad export` only wires them.

- `load_events(db, filters)`  the stored events (one row per report) as a GeoDataFrame, EPSG:4326
- `mentions_geojson(results)`  the place mentions of `marsad parse` results, one Point each
- `incidents(gdf)`            one row per incident (its most confident report + reports, sources)
- `to_geojson(gdf)`           a FeatureCollection dict: [lon, lat], 6 decimals, no `crs`
- `write_gpkg(path, gdf, db, filters)`  layers events, places, control, districts
- `to_acled_csv(gdf)`         CSV text with ACLED's column names where they exist

Filters (`ExportFilters`): dates are inclusive and compare the event date (events without a
date drop out when a date filter is given); `regions` are ISO 3166-2:LY codes matched against
the event's `district` (use `resolve_region` to turn a name into a code); `factions` keep events
with at least one of the factions among their actors.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo.regions import CRS, DISTRICTS_GEOJSON, name_key, region_names
from geo.store import LISTING_COLUMNS, date_range_sql, open_store

DECIMALS = 6

# ACLED's event types for our families.
ACLED_EVENT_TYPE = {"fight": "Battles", "remote": "Explosions/Remote violence",
                    "control": "Strategic developments", "civilians": "Violence against civilians",
                    "protest": "Protests", "mobilization": "Strategic developments"}
# ACLED time_precision: 1 = day, 2 = week (or a few days), 3 = month or coarser.
TIME_PRECISION = {"day": 1, "week": 2, "month": 3, "year": 3}

GEOJSON_PROPERTIES = ["id", "incident_id", "type", "family", "date", "date_precision",
                      "geo_precision", "actors", "controller_after", "fatalities", "injuries",
                      "place_en", "place_ar", "district", "confidence", "source", "url", "doc",
                      "sentence"]
INCIDENT_COLUMNS = ["reports", "sources"]
ACLED_COLUMNS = ["event_id_cnty", "event_date", "year", "time_precision", "event_type",
                 "sub_event_type", "actor1", "actor2", "actors", "admin1", "admin1_name",
                 "location", "location_ar", "latitude", "longitude", "geo_precision", "source",
                 "source_url", "notes", "fatalities", "fatalities_stated", "injuries",
                 "incident_id", "confidence"]
_EVENT_COLUMNS = LISTING_COLUMNS + ["place_id", "in_libya"]


class ExportError(Exception):
    """An export that cannot be made; the message is one line for the user."""


@dataclass(frozen=True)
class ExportFilters:
    since: str | None = None  # YYYY-MM-DD, inclusive
    until: str | None = None  # YYYY-MM-DD, inclusive
    types: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    factions: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()  # ISO 3166-2:LY codes
    min_confidence: float | None = None

    @property
    def event_only(self) -> bool:
        """Filters on event attributes that say nothing about mentions or control records."""
        return bool(self.types or self.families or self.min_confidence is not None)


# -- districts and region names ------------------------------------------------------------------
@lru_cache(maxsize=1)
def districts() -> gpd.GeoDataFrame:
    """The 22 district polygons (iso_code, name_en, name_ar, geometry), EPSG:4326."""
    gdf = gpd.read_file(DISTRICTS_GEOJSON)
    return gdf[["iso_code", "name_en", "name_ar", "geometry"]].to_crs(CRS)


def resolve_region(name: str) -> str:
    """The ISO 3166-2:LY code of a district given by code (LY-TB) or by its English or Arabic
    name (case-insensitive, Arabic spelling variants folded); ExportError listing close names."""
    names = region_names()
    hit = names.get(name_key(name))
    if hit:
        return hit[0]
    close = difflib.get_close_matches(name_key(name), list(names), n=5, cutoff=0.5)
    shown = [f"{names[c][1]} ({names[c][0]})" for c in close]
    hint = f"; close names: {', '.join(shown)}" if shown else \
        f"; districts: {', '.join(sorted(districts()['iso_code']))}"
    raise ExportError(f"unknown region {name!r}{hint}")


# -- loading -------------------------------------------------------------------------------------
def _points(lons, lats) -> list:
    return [shapely.Point(x, y) if _num(x) and _num(y) else None for x, y in zip(lons, lats)]


def _num(v) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def load_events(db: str | Path, filters: ExportFilters | None = None) -> gpd.GeoDataFrame:
    """Stored events (one row per report, ordered by date) that pass `filters`; actors as lists.
    StoreError when there is no store at `db`."""
    f = filters or ExportFilters()
    cols = ", ".join(f'"{c}"' for c in _EVENT_COLUMNS)
    where, params = date_range_sql("date", "date", f.since, f.until)
    for column, values in (("type", f.types), ("family", f.families), ("district", f.regions)):
        if values:
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            params.extend(values)
    if f.min_confidence is not None:
        where.append("confidence >= ?")
        params.append(f.min_confidence)
    rows = _select_rows(db, f"SELECT {cols} FROM events", where, params,
                        " ORDER BY date IS NULL, date, id")
    for r in rows:
        r["actors"] = json.loads(r["actors"]) if r["actors"] else []
        r["in_libya"] = None if r["in_libya"] is None else bool(r["in_libya"])
    if f.factions:
        wanted = set(f.factions)
        rows = [r for r in rows if wanted & set(r["actors"])]
    df = _typed(pd.DataFrame(rows, columns=_EVENT_COLUMNS))
    return gpd.GeoDataFrame(df, geometry=_points(df["lon"], df["lat"]), crs=CRS)


_FLOATS = ("lat", "lon", "confidence")
_INTS = ("geo_precision", "fatalities", "injuries", "reports")


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Stable column types, also for an empty selection (so empty layers keep their schema):
    floats, nullable integers, nullable booleans, and object columns for text."""
    for c in df.columns:
        if c in _FLOATS:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
        elif c in _INTS:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
        elif c == "in_libya":
            df[c] = df[c].astype("boolean")
        elif c != "geometry":
            df[c] = df[c].astype("object")
    return df


def incidents(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per incident_id: the report with the highest confidence (ties: earliest date,
    then smallest id), with `reports` (how many reports) and `sources` (their docs, `;`-joined)."""
    if gdf.empty:
        out = gdf.copy()
        out["reports"] = pd.Series(dtype="Int64")
        out["sources"] = pd.Series(dtype="object")
        return out
    df = gdf.copy()
    df["_inc"] = df["incident_id"].fillna(df["id"])
    df["_conf"] = df["confidence"].fillna(-1.0)
    df["_date"] = df["date"].fillna("9999")
    best = df.sort_values(["_inc", "_conf", "_date", "id"], ascending=[True, False, True, True])
    best = best.drop_duplicates("_inc").set_index("_inc")
    groups = df.groupby("_inc")
    best["reports"] = groups.size()
    best["sources"] = groups["doc"].agg(
        lambda docs: ";".join(sorted({d for d in docs if isinstance(d, str) and d})))
    best = best.reset_index(drop=True).drop(columns=["_conf", "_date"])
    best = best.sort_values(["date", "id"], na_position="last").reset_index(drop=True)
    best = _typed(best)
    return gpd.GeoDataFrame(best, geometry="geometry", crs=CRS)


# -- GeoJSON -------------------------------------------------------------------------------------
def json_ready(v):
    """A JSON-ready Python value (numpy scalars, NaN -> None)."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, (list, tuple)):
        return [json_ready(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _int(v):
    v = json_ready(v)
    return None if v is None else int(v)


def to_geojson(gdf: gpd.GeoDataFrame) -> dict:
    """An RFC 7946 FeatureCollection: Point [lon, lat] rounded to 6 decimals, no `crs` member,
    flat properties (actors as a JSON array; reports and sources for incident rows)."""
    props = GEOJSON_PROPERTIES + [c for c in INCIDENT_COLUMNS if c in gdf.columns]
    features = []
    for rec in gdf.to_dict("records"):
        p = {c: json_ready(rec.get(c)) for c in props}
        for c in ("geo_precision", "fatalities", "injuries", "reports"):
            if c in p:
                p[c] = _int(p[c])
        p["actors"] = list(p["actors"] or [])
        geom = rec.get("geometry")
        geometry = None
        if geom is not None and not geom.is_empty:
            geometry = {"type": "Point",
                        "coordinates": [round(geom.x, DECIMALS), round(geom.y, DECIMALS)]}
        features.append({"type": "Feature", "id": p["id"], "geometry": geometry,
                         "properties": p})
    return {"type": "FeatureCollection", "features": features}


def geojson_text(gdf: gpd.GeoDataFrame) -> str:
    return json.dumps(to_geojson(gdf), ensure_ascii=False)


# -- GeoPackage ----------------------------------------------------------------------------------
def events_layer(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The events (or incidents) with actors `;`-joined, coordinates rounded like GeoJSON."""
    out = gdf.copy()
    out["actors"] = pd.Series([";".join(a or []) for a in out["actors"]], index=out.index,
                              dtype="object")
    return gpd.GeoDataFrame(_typed(pd.DataFrame(out)), geometry="geometry", crs=CRS)


def _select_rows(db, sql: str, where: list[str], params: list, order: str = "") -> list[dict]:
    """Rows of `sql` with the conditions `where` (bound `params`), as dicts, from the store at
    `db` (a GeoPackage path or a PostGIS URL)."""
    if where:
        sql += " WHERE " + " AND ".join(where)
    with open_store(db, create=False) as store:
        return store.select(sql + order, params)


def _mentions(db, filters: ExportFilters) -> pd.DataFrame:
    """Stored mentions that pass the region filter and the date filters (on the publication date
    of their article)."""
    where, params = date_range_sql("a.published", "substr(a.published, 1, 10)",
                                   filters.since, filters.until)
    if filters.regions:
        where.append(f"m.district IN ({','.join('?' * len(filters.regions))})")
        params.extend(filters.regions)
    rows = _select_rows(
        db, "SELECT m.place_id, m.name_en, m.name_ar, m.kind, m.district, m.in_libya, "
        "ST_X(m.geom) AS lon, ST_Y(m.geom) AS lat "
        "FROM mentions m LEFT JOIN articles a ON a.id = m.article_id", where, params)
    return pd.DataFrame(rows, columns=["place_id", "name_en", "name_ar", "kind", "district",
                                       "in_libya", "lon", "lat"])


def places_layer(db, events: gpd.GeoDataFrame, filters: ExportFilters) -> gpd.GeoDataFrame:
    """Distinct places with `events` (exported events there) and `mentions` (stored mentions).

    Places come from the exported events and, unless the export is narrowed by event-only
    filters (type, family, faction, confidence), also from the mentions in the region and date
    range, so that a place named but without events still shows (events = 0)."""
    mentions = _mentions(db, filters)
    places: dict[str, dict] = {}
    for m in mentions.to_dict("records"):
        key = m["place_id"] or f"{m['name_en']}@{m['lon']},{m['lat']}"
        p = places.setdefault(key, {
            "place_id": m["place_id"], "name_en": m["name_en"], "name_ar": m["name_ar"],
            "kind": m["kind"], "district": m["district"],
            "in_libya": None if m["in_libya"] is None else bool(m["in_libya"]),
            "lon": m["lon"], "lat": m["lat"], "events": 0, "mentions": 0})
        p["mentions"] += 1
    with_events: set[str] = set()
    for e in events.to_dict("records"):
        key = e["place_id"] or f"{e['place_en']}@{e['lon']},{e['lat']}"
        with_events.add(key)
        p = places.setdefault(key, {
            "place_id": e["place_id"], "name_en": e["place_en"], "name_ar": e["place_ar"],
            "kind": None, "district": e["district"], "in_libya": json_ready(e["in_libya"]),
            "lon": e["lon"], "lat": e["lat"], "events": 0, "mentions": 0})
        p["events"] += 1
    if filters.event_only or filters.factions:
        places = {k: v for k, v in places.items() if k in with_events}
    df = pd.DataFrame(list(places.values()),
                      columns=["place_id", "name_en", "name_ar", "kind", "district", "in_libya",
                               "lon", "lat", "events", "mentions"])
    df = df.sort_values(["events", "mentions", "name_en"], ascending=[False, False, True])
    df = _typed(df.reset_index(drop=True))
    df["events"] = df["events"].astype("int64")
    df["mentions"] = df["mentions"].astype("int64")
    return gpd.GeoDataFrame(df, geometry=_points(df["lon"], df["lat"]), crs=CRS)


def control_layer(db, filters: ExportFilters) -> gpd.GeoDataFrame:
    """Control records (who holds a place as of a date), narrowed by the date range (`as_of`),
    the regions (district polygon containing the point) and the factions."""
    where, params = date_range_sql("as_of", "as_of", filters.since, filters.until)
    if filters.factions:
        where.append(f"faction IN ({','.join('?' * len(filters.factions))})")
        params.extend(filters.factions)
    rows = _select_rows(
        db, "SELECT id, place_id, place_en, faction, as_of, sentence, doc, ST_X(geom) AS lon, "
        "ST_Y(geom) AS lat FROM control",
        where, params, " ORDER BY as_of, id")
    cols = ["id", "place_id", "place_en", "faction", "as_of", "district", "sentence", "doc",
            "lon", "lat"]
    df = _typed(pd.DataFrame(rows, columns=[c for c in cols if c != "district"]))
    gdf = gpd.GeoDataFrame(df, geometry=_points(df["lon"], df["lat"]), crs=CRS)
    gdf["district"] = _district_of(gdf)
    if filters.regions:
        gdf = gdf[gdf["district"].isin(filters.regions)].reset_index(drop=True)
    return gdf[cols + ["geometry"]]


def _district_of(points: gpd.GeoDataFrame) -> list:
    """The ISO code of the district polygon containing each point (None outside Libya)."""
    if points.empty:
        return []
    d = districts()
    hits = gpd.sjoin(points[["geometry"]], d[["iso_code", "geometry"]], how="left",
                     predicate="within")
    hits = hits[~hits.index.duplicated(keep="first")]
    return [None if pd.isna(v) else v for v in hits["iso_code"].reindex(points.index)]


def districts_layer(events: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The 22 district polygons with `events` (exported events whose district it is) and
    `fatalities` (their stated fatalities summed)."""
    d = districts().copy()
    counts = events["district"].value_counts()
    deaths = pd.to_numeric(events["fatalities"], errors="coerce").groupby(
        events["district"]).sum()
    d["events"] = [int(counts.get(i, 0)) for i in d["iso_code"]]
    d["fatalities"] = [int(deaths.get(i, 0)) for i in d["iso_code"]]
    return d[["iso_code", "name_en", "name_ar", "events", "fatalities", "geometry"]]


def write_gpkg(path: str | Path, events: gpd.GeoDataFrame, db: str | Path,
               filters: ExportFilters | None = None, *, force: bool = False) -> dict[str, int]:
    """Write a GeoPackage (EPSG:4326) with layers events, places, control and districts; the
    number of features per layer. Refuses an existing file unless `force`; writes to a temporary
    file beside `path` and renames it, so a failed export leaves nothing behind."""
    f = filters or ExportFilters()
    path = Path(path)
    if path.exists() and not force:
        raise ExportError(f"{path} exists; use --force to overwrite it")
    if path.is_dir():
        raise ExportError(f"{path} is a folder")
    layers = {"events": events_layer(events), "places": places_layer(db, events, f),
              "control": control_layer(db, f), "districts": districts_layer(events)}
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ExportError(f"no folder {parent} for {path}")
    fd, tmp = tempfile.mkstemp(suffix=".gpkg", prefix=f".{path.stem}-", dir=parent)
    os.close(fd)
    os.unlink(tmp)  # GDAL wants to create the file itself
    try:
        for name, layer in layers.items():
            layer.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio",
                          geometry_type="MultiPolygon" if name == "districts" else "Point",
                          promote_to_multi=(name == "districts"))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return {name: len(layer) for name, layer in layers.items()}


# -- ACLED-like CSV ------------------------------------------------------------------------------
def acled_rows(gdf: gpd.GeoDataFrame) -> list[dict]:
    """Rows with ACLED's column names (plus actors, fatalities_stated, injuries, incident_id,
    confidence, and reports/sources for incident rows)."""
    names = dict(zip(districts()["iso_code"], districts()["name_en"]))
    out = []
    for r in gdf.to_dict("records"):
        r = {k: json_ready(v) for k, v in r.items() if k != "geometry"}
        actors = list(r.get("actors") or [])
        day = r.get("date")
        fatalities = _int(r.get("fatalities"))
        row = {
            "event_id_cnty": r["id"], "event_date": day,
            "year": int(day[:4]) if day and day[:4].isdigit() else None,
            "time_precision": TIME_PRECISION.get(r.get("date_precision") or "", None),
            "event_type": ACLED_EVENT_TYPE.get(r.get("family") or "", None),
            "sub_event_type": r.get("type"),
            "actor1": actors[0] if actors else None,
            "actor2": actors[1] if len(actors) > 1 else None,
            "actors": ";".join(actors),
            "admin1": r.get("district"), "admin1_name": names.get(r.get("district")),
            "location": r.get("place_en"), "location_ar": r.get("place_ar"),
            "latitude": None if r.get("lat") is None else round(r["lat"], DECIMALS),
            "longitude": None if r.get("lon") is None else round(r["lon"], DECIMALS),
            "geo_precision": _int(r.get("geo_precision")),
            "source": r.get("source"), "source_url": r.get("url"),
            "notes": r.get("sentence"),
            "fatalities": fatalities or 0, "fatalities_stated": fatalities is not None,
            "injuries": _int(r.get("injuries")), "incident_id": r.get("incident_id"),
            "confidence": r.get("confidence"),
        }
        for c in INCIDENT_COLUMNS:
            if c in r:
                row[c] = r[c]
        out.append(row)
    return out


def to_acled_csv(gdf: gpd.GeoDataFrame) -> str:
    """CSV text (header first, `\\n` line ends) of `acled_rows`; empty cells for nulls,
    true/false for fatalities_stated."""
    columns = ACLED_COLUMNS + [c for c in INCIDENT_COLUMNS if c in gdf.columns]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in acled_rows(gdf):
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def known_ids(values, known, what: str) -> tuple[str, ...]:
    """`values` mapped case-insensitively onto `known` ids; ExportError naming close ones."""
    by_fold = {k.casefold(): k for k in known}
    out = []
    for v in values:
        hit = by_fold.get(v.casefold())
        if hit is None:
            close = difflib.get_close_matches(v.casefold(), list(by_fold), n=5, cutoff=0.5)
            hint = (f"; close: {', '.join(by_fold[c] for c in close)}" if close else
                    f"; known: {', '.join(sorted(known))}")
            raise ExportError(f"unknown {what} {v!r}{hint}")
        out.append(hit)
    return tuple(out)


__all__ = ["ExportError", "ExportFilters", "load_events", "incidents", "to_geojson",
           "geojson_text", "write_gpkg", "to_acled_csv", "acled_rows", "resolve_region",
           "districts", "events_layer", "places_layer", "control_layer", "districts_layer",
           "known_ids", "make_filters"]


def make_filters(*, since: str | None = None, until: str | None = None, types=(), families=(),
                 factions=(), regions=(), min_confidence: float | None = None) -> ExportFilters:
    """Validated filters: types, families and factions mapped case-insensitively onto the known
    ids, regions resolved to ISO codes; ExportError (one line, naming close values) otherwise."""
    from geo.events import FAMILY
    from geo.factions import load_factions

    if since and until and since > until:
        raise ExportError(f"--since {since} is after --until {until}")
    return ExportFilters(
        since=since, until=until,
        types=known_ids(types, set(FAMILY), "event type"),
        families=known_ids(families, set(FAMILY.values()), "family"),
        factions=known_ids(factions, set(load_factions().ids), "faction") if factions else (),
        regions=tuple(dict.fromkeys(resolve_region(r) for r in regions)),
        min_confidence=min_confidence)


# -- place mentions (`marsad parse --format geojson`, `marsad demo`) -----------------------
def mentions_geojson(results: list[dict]) -> dict:
    """A FeatureCollection of the places of `marsad parse` results, [lon, lat], 6 decimals."""
    features = []
    for res in results:
        for p in res["places"]:
            props = {k: p[k] for k in ("id", "name_ar", "name_en", "kind", "district", "in_libya",
                                       "precision", "score", "text", "start", "end") if k in p}
            props["doc"] = res["doc"]
            props["published"] = res.get("published")
            features.append({
                "type": "Feature",
                "geometry": {"type": "Point",
                             "coordinates": [round(p["lon"], 6), round(p["lat"], 6)]},
                "properties": props,
            })
    return {"type": "FeatureCollection", "features": features}
