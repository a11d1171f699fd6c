"""The event store: one GeoPackage file (EPSG:4326) that opens in QGIS, written with `sqlite3`.

Why plain `sqlite3` and not `to_file`: an ingest must never leave an article half-written, so
every article (its row, place mentions, events, control records and the incident links it
changes) goes in one `BEGIN IMMEDIATE ... COMMIT`. The rollback journal (WAL off) makes that
survive a SIGKILL: the next connection rolls the hot journal back.

Layout (GeoPackage 1.3, `application_id` 'GPKG', `user_version` 10300):

- `articles` (attributes): `id` = content hash of the text, the text itself (so reprocessing
  needs no original files), metadata, and the `pipeline_version` that produced its rows;
- `events`, `mentions`, `control` (Point features, column `geom`): one row per pipeline record,
  each with `article_id`;
- `rtree_<table>_geom`: the `gpkg_rtree_index` extension. It is kept up to date by the spec's
  own triggers, which call `ST_IsEmpty`/`ST_MinX`/... . Plain sqlite lacks those functions, so
  `connect` registers them on every connection Marsad opens; GDAL (QGIS, ogr2ogr) registers its
  own, so edits made in QGIS keep the index right too — triggers filled from Python would not.

Incidents: events of *different* articles are linked when they are in the same event family,
within 5 km, within a day of each other and their actor sets intersect (or one is empty). The
connected groups of that graph are incidents; `incident_id` is the smallest event id of the
group (an event reported once is its own incident). Groups depend only on the stored events,
never on the order of ingest.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sqlite3
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import shapely

from gazetteer.model import haversine_km

PIPELINE_VERSION = "1"  # geo.pipeline.PIPELINE_VERSION wins when the lead defines it
DEFAULT_DB = "events.gpkg"
DB_ENV = "MARSAD_DB"
SRS_ID = 4326
INCIDENT_KM = 5.0
INCIDENT_DAYS = 1

GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
GPKG_USER_VERSION = 10300  # GeoPackage 1.3
RTREE_EXTENSION = "gpkg_rtree_index"
RTREE_DEFINITION = "http://www.geopackage.org/spec120/#extension_rtree"

_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]')

# Column lists after `fid` and `geom`; types are GeoPackage data types.
ARTICLE_COLUMNS = [
    ("id", "TEXT NOT NULL UNIQUE"), ("doc", "TEXT"), ("url", "TEXT"), ("source", "TEXT"),
    ("title", "TEXT"), ("published", "TEXT"), ("text", "TEXT NOT NULL"), ("warnings", "TEXT"),
    ("pipeline_version", "TEXT NOT NULL"), ("ingested_at", "DATETIME"),
    ("processed_at", "DATETIME"),
]
EVENT_COLUMNS = [
    ("id", "TEXT NOT NULL UNIQUE"), ("incident_id", "TEXT"), ("article_id", "TEXT NOT NULL"),
    ("type", "TEXT"), ("family", "TEXT"), ("date", "DATE"), ("date_precision", "TEXT"),
    ("place_id", "TEXT"), ("place_en", "TEXT"), ("place_ar", "TEXT"), ("district", "TEXT"),
    ("lat", "DOUBLE"), ("lon", "DOUBLE"), ("geo_precision", "INTEGER"), ("in_libya", "BOOLEAN"),
    ("actors", "TEXT"), ("controller_after", "TEXT"), ("fatalities", "INTEGER"),
    ("injuries", "INTEGER"), ("confidence", "DOUBLE"), ("sentence", "TEXT"),
    ("start_char", "INTEGER"), ("end_char", "INTEGER"), ("place_start_char", "INTEGER"),
    ("place_end_char", "INTEGER"), ("doc", "TEXT"), ("url", "TEXT"), ("source", "TEXT"),
    ("published", "TEXT"),
]
MENTION_COLUMNS = [
    ("article_id", "TEXT NOT NULL"), ("text", "TEXT"), ("start_char", "INTEGER"),
    ("end_char", "INTEGER"), ("place_id", "TEXT"), ("name_ar", "TEXT"), ("name_en", "TEXT"),
    ("kind", "TEXT"), ("district", "TEXT"), ("in_libya", "BOOLEAN"), ("precision", "TEXT"),
    ("score", "DOUBLE"), ("doc", "TEXT"),
]
CONTROL_COLUMNS = [
    ("id", "TEXT NOT NULL UNIQUE"), ("article_id", "TEXT NOT NULL"), ("place_id", "TEXT"),
    ("place_en", "TEXT"), ("faction", "TEXT"), ("as_of", "DATE"), ("sentence", "TEXT"),
    ("start_char", "INTEGER"), ("end_char", "INTEGER"), ("doc", "TEXT"),
]
FEATURE_TABLES = {"events": EVENT_COLUMNS, "mentions": MENTION_COLUMNS, "control": CONTROL_COLUMNS}
_DESCRIPTIONS = {
    "articles": "Ingested articles: text, metadata, content hash and pipeline version",
    "events": "Conflict events, one row per report (incident_id groups reports of one incident)",
    "mentions": "Resolved place mentions in the articles",
    "control": "Statements of which faction controls a place",
}

# The columns `marsad events` shows, in order.
LISTING_COLUMNS = ["id", "incident_id", "type", "family", "date", "date_precision", "place_en",
                   "place_ar", "district", "lat", "lon", "geo_precision", "actors",
                   "controller_after", "fatalities", "injuries", "confidence", "doc", "url",
                   "source", "sentence"]


class StoreError(Exception):
    """A store that cannot be opened or written; the message is one line for the user."""


def default_db_path() -> Path | str:
    """`$MARSAD_DB` (a path or a postgresql:// URL), or `events.gpkg` in the current
    directory."""
    value = os.environ.get(DB_ENV) or DEFAULT_DB
    return value if is_url(value) else Path(value)


# -- GeoPackage geometry blobs ---------------------------------------------------------------------
_ENVELOPE_DOUBLES = {0: 0, 1: 4, 2: 6, 3: 6, 4: 8}
_WKB_POINT_LE = b"\x01\x01\x00\x00\x00"  # byte order 1 (little-endian), geometry type 1


def gpkg_point(lon: float, lat: float) -> bytes:
    """A GeoPackage binary Point: the 'GP' header (version 0, little-endian, no envelope,
    srs_id 4326) followed by little-endian WKB."""
    flags = 0b0000_0001  # bit 0: little-endian header; bits 1-3: envelope 0 (none)
    header = b"GP" + bytes((0, flags)) + struct.pack("<i", SRS_ID)
    # WKB, little-endian, type 1 (Point), x y: byte for byte what shapely.to_wkb writes, at a
    # tenth of the cost (an ingest writes one point per mention, event and control record)
    return header + _WKB_POINT_LE + struct.pack("<2d", lon, lat)


def gpkg_bounds(blob: bytes | None) -> tuple[float, float, float, float] | None:
    """(minx, maxx, miny, maxy) of a GeoPackage geometry blob; None for NULL or empty."""
    if blob is None or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    if flags & 0b1_0000:  # empty-geometry flag
        return None
    order = "<" if flags & 1 else ">"
    n = _ENVELOPE_DOUBLES.get((flags >> 1) & 0b111, 0)
    if n:
        minx, maxx, miny, maxy = struct.unpack(order + "4d", blob[8:40])
        return minx, maxx, miny, maxy
    if len(blob) == 29 and blob[8:13] == _WKB_POINT_LE:  # a 2-D point, as gpkg_point writes
        x, y = struct.unpack_from("<2d", blob, 13)  # the R-tree triggers call this 5x per row
        return None if math.isnan(x) and math.isnan(y) else (x, x, y, y)  # POINT EMPTY
    geom = shapely.from_wkb(bytes(blob[8:]))
    if geom is None or geom.is_empty:
        return None
    minx, miny, maxx, maxy = geom.bounds
    return minx, maxx, miny, maxy


def _float32_down(v: np.ndarray) -> np.ndarray:
    """The largest float32 at or below each value: what SQLite's R-tree stores as a box's
    minimum (rtreeValueDown)."""
    f = v.astype(np.float32)
    f = np.where(f.astype(np.float64) > v, np.nextafter(f, np.float32(-np.inf)), f)
    return f.astype(np.float64)


def _bound(i: int):
    def f(blob):
        b = gpkg_bounds(blob)
        return None if b is None else b[i]
    return f


def register_gpkg_functions(conn: sqlite3.Connection) -> None:
    """The SQL functions the spec's R-tree triggers call (GDAL provides the same ones)."""
    conn.create_function("ST_IsEmpty", 1, lambda blob: 1 if gpkg_bounds(blob) is None else 0,
                         deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        conn.create_function(name, 1, _bound(i), deterministic=True)
    # ST_X / ST_Y of a point, named as in PostGIS so that SQL reading points is portable
    conn.create_function("ST_X", 1, _bound(0), deterministic=True)
    conn.create_function("ST_Y", 1, _bound(2), deterministic=True)


# -- schema --------------------------------------------------------------------------------------
_CORE_DDL = f"""
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined',
   'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined',
   'undefined geographic coordinate reference system'),
  ('WGS 84 geodetic', {SRS_ID}, 'EPSG', 4326, '{_WGS84_WKT}',
   'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
"""


def _rtree_ddl(t: str, c: str = "geom", i: str = "fid") -> str:
    """The gpkg_rtree_index virtual table and its triggers, as GeoPackage 1.3 writes them."""
    r = f"rtree_{t}_{c}"
    ins = (f"INSERT OR REPLACE INTO {r} VALUES (NEW.{i}, ST_MinX(NEW.{c}), ST_MaxX(NEW.{c}), "
           f"ST_MinY(NEW.{c}), ST_MaxY(NEW.{c}));")
    return f"""
CREATE VIRTUAL TABLE {r} USING rtree(id, minx, maxx, miny, maxy);
CREATE TRIGGER {r}_insert AFTER INSERT ON {t}
  WHEN (new.{c} NOT NULL AND NOT ST_IsEmpty(NEW.{c})) BEGIN {ins} END;
CREATE TRIGGER {r}_update1 AFTER UPDATE OF {c} ON {t}
  WHEN OLD.{i} = NEW.{i} AND (NEW.{c} NOTNULL AND NOT ST_IsEmpty(NEW.{c})) BEGIN {ins} END;
CREATE TRIGGER {r}_update2 AFTER UPDATE OF {c} ON {t}
  WHEN OLD.{i} = NEW.{i} AND (NEW.{c} ISNULL OR ST_IsEmpty(NEW.{c}))
  BEGIN DELETE FROM {r} WHERE id = OLD.{i}; END;
CREATE TRIGGER {r}_update3 AFTER UPDATE ON {t}
  WHEN OLD.{i} != NEW.{i} AND (NEW.{c} NOTNULL AND NOT ST_IsEmpty(NEW.{c}))
  BEGIN DELETE FROM {r} WHERE id = OLD.{i}; {ins} END;
CREATE TRIGGER {r}_update4 AFTER UPDATE ON {t}
  WHEN OLD.{i} != NEW.{i} AND (NEW.{c} ISNULL OR ST_IsEmpty(NEW.{c}))
  BEGIN DELETE FROM {r} WHERE id IN (OLD.{i}, NEW.{i}); END;
CREATE TRIGGER {r}_delete AFTER DELETE ON {t}
  WHEN old.{c} NOT NULL BEGIN DELETE FROM {r} WHERE id = OLD.{i}; END;
"""


def _schema_ddl() -> str:
    cols = ", ".join(f'"{n}" {t}' for n, t in ARTICLE_COLUMNS)
    parts = [_CORE_DDL,
             f"CREATE TABLE articles (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, {cols});",
             "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
             f"VALUES ('articles', 'attributes', 'articles', '{_DESCRIPTIONS['articles']}');"]
    for table, columns in FEATURE_TABLES.items():
        cols = ", ".join(f'"{n}" {t}' for n, t in columns)
        parts.append(f"CREATE TABLE {table} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "
                     f"geom POINT, {cols});")
        parts.append(f"CREATE INDEX idx_{table}_article ON {table}(article_id);")
        parts.append(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
            f"VALUES ('{table}', 'features', '{table}', '{_DESCRIPTIONS[table]}', {SRS_ID});")
        parts.append("INSERT INTO gpkg_geometry_columns VALUES "
                     f"('{table}', 'geom', 'POINT', {SRS_ID}, 0, 0);")
        parts.append("INSERT INTO gpkg_extensions VALUES "
                     f"('{table}', 'geom', '{RTREE_EXTENSION}', '{RTREE_DEFINITION}', "
                     "'write-only');")
        parts.append(_rtree_ddl(table))
    parts.append("CREATE INDEX idx_events_incident ON events(incident_id);")
    parts.append("CREATE INDEX idx_events_family_date ON events(family, date);")
    parts += [ddl + ";" for ddl in _QUERY_INDEXES]
    parts += [ddl + ";" for ddl in _EVENT_BLOCKS_DDL]
    return "\n".join(parts)


# Area-only events (geo_precision 3) are found through the first by the interior-cell count;
# the second answers "in this area between these dates" from the dates when they are rarer than
# the area's events (it holds lon and lat, so rows outside the area are never read).
_QUERY_INDEXES = (
    "CREATE INDEX IF NOT EXISTS idx_events_precision ON events(geo_precision)",
    "CREATE INDEX IF NOT EXISTS idx_events_date_lonlat ON events(date, lon, lat)")


# Which events changed, by block of 2**EVENT_BLOCK_BITS fids: every row written gives its
# block a fresh random `version`, so a copy of a block made at one version (geo.columns) is
# known current without reading the block again, whatever program wrote to the file. Random
# rather than counted: a store deleted and made again at the same path, or two copies that
# went on separately, never repeat a (block, version) pair.
EVENT_BLOCK_BITS = 15
# (INSERT OR REPLACE rather than an upsert: SQLite before 3.24, in older GDAL and QGIS builds,
# could not even open a file whose triggers use ON CONFLICT ... DO UPDATE)
_BLOCK_SET = ("INSERT OR REPLACE INTO marsad_event_blocks (block, version) "
              "VALUES ({fid} >> {bits}, random());")
_EVENT_BLOCKS_DDL = (
    "CREATE TABLE IF NOT EXISTS marsad_event_blocks "
    "(block INTEGER PRIMARY KEY, version INTEGER NOT NULL)",
    "CREATE TRIGGER IF NOT EXISTS marsad_event_blocks_insert AFTER INSERT ON events BEGIN "
    + _BLOCK_SET.format(fid="NEW.fid", bits=EVENT_BLOCK_BITS) + " END",
    "CREATE TRIGGER IF NOT EXISTS marsad_event_blocks_update AFTER UPDATE ON events BEGIN "
    + _BLOCK_SET.format(fid="OLD.fid", bits=EVENT_BLOCK_BITS) + " "
    + _BLOCK_SET.format(fid="NEW.fid", bits=EVENT_BLOCK_BITS) + " END",
    "CREATE TRIGGER IF NOT EXISTS marsad_event_blocks_delete AFTER DELETE ON events BEGIN "
    + _BLOCK_SET.format(fid="OLD.fid", bits=EVENT_BLOCK_BITS) + " END",
)


def _add_event_blocks(conn: sqlite3.Connection) -> None:
    """The block table and its triggers, in a store made before they existed: every block
    that holds events gets a version (one transaction)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for ddl in _EVENT_BLOCKS_DDL:
            conn.execute(ddl)
        conn.execute("INSERT OR IGNORE INTO marsad_event_blocks (block, version) "
                     f"SELECT fid >> {EVENT_BLOCK_BITS}, random() FROM events "
                     f"GROUP BY fid >> {EVENT_BLOCK_BITS}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), rollback journal, with the
    GeoPackage SQL functions registered."""
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=60)
    conn.row_factory = sqlite3.Row
    register_gpkg_functions(conn)
    return conn


# -- the store -----------------------------------------------------------------------------------
@dataclass(slots=True)
class WriteResult:
    status: str  # new | reprocessed | unchanged
    events: int = 0
    control: int = 0
    mentions: int = 0
    events_removed: int = 0


@dataclass(slots=True)
class StoredArticle:
    id: str
    doc: str | None
    text: str
    url: str | None
    published: str | None
    source: str | None
    title: str | None
    pipeline_version: str


def is_url(db) -> bool:
    """A PostgreSQL URL (`postgresql://...` or `postgres://...`) rather than a file path."""
    return isinstance(db, str) and db.split("://", 1)[0] in ("postgresql", "postgres")


def describe(db) -> str:
    """`db` for messages: a path, or a URL with its password hidden."""
    if not is_url(db):
        return str(db)
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", db)


def open_store(db, *, create: bool = True):
    """The event store at `db`: a GeoPackage path, or a `postgresql://` URL (PostGIS)."""
    if is_url(db):
        from geo.pgstore import PostgisStore

        return PostgisStore(db, create=create)
    return EventStore(db, create=create)


def database_errors() -> tuple[type[BaseException], ...]:
    """Exceptions a store's database may raise (sqlite3, and psycopg when installed)."""
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
    try:
        import psycopg
    except ImportError:
        return errors
    return (*errors, psycopg.Error)


class _Store:
    """What every store does the same way, in portable SQL (`?` parameters): reading, and
    writing one article in one transaction. A dialect provides `conn` (an object whose
    `execute(sql, params)` returns rows indexable by position and by name), `transaction()`,
    `_begin_write(conn)`, `_point(lon, lat)`, `_now`, `_incident_candidates(conn, ev)` and
    `_after_write(conn, parsed)`."""

    _now = "CURRENT_TIMESTAMP"

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def select(self, sql: str, params=()) -> list[dict]:
        """Rows of a portable SELECT (`?` parameters) as dicts."""
        return [dict(r) for r in self.conn.execute(sql, params)]

    # -- reading ---------------------------------------------------------------------------------
    def article_version(self, article_id: str) -> str | None:
        """The pipeline version an article was stored with; None if it is not stored."""
        row = self.conn.execute("SELECT pipeline_version FROM articles WHERE id = ?",
                                (article_id,)).fetchone()
        return row[0] if row else None

    def stored_articles(self, other_than_version: str | None = None) -> list[StoredArticle]:
        """Stored articles (in ingest order); only those of another pipeline version when
        `other_than_version` is given."""
        sql = ("SELECT id, doc, text, url, published, source, title, pipeline_version "
               "FROM articles")
        params: tuple = ()
        if other_than_version is not None:
            sql += " WHERE pipeline_version != ?"
            params = (other_than_version,)
        return [StoredArticle(*r) for r in self.conn.execute(sql + " ORDER BY fid", params)]

    def count(self, table: str) -> int:
        if table not in ("articles", *FEATURE_TABLES):
            raise ValueError(table)
        return self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def events(self, limit: int | None = None) -> list[dict]:
        """Stored events, one dict per report (`LISTING_COLUMNS`, actors as a list)."""
        cols = ", ".join(f'"{c}"' for c in LISTING_COLUMNS)
        sql = f"SELECT {cols} FROM events ORDER BY date IS NULL, date, id"
        params: tuple = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (limit,)
        out = []
        for row in self.conn.execute(sql, params):
            rec = dict(row)
            rec["actors"] = json.loads(rec["actors"]) if rec["actors"] else []
            out.append(rec)
        return out

    def control_evidence(self) -> tuple[list[dict], list[dict]]:
        """(events that say who holds a place afterwards, standing-control records), as the
        plain dicts `geo.control.evidence_from` reads."""
        events = [dict(r) for r in self.conn.execute(
            "SELECT id, place_id, place_en, controller_after, date, confidence, in_libya "
            "FROM events WHERE controller_after IS NOT NULL")]
        control = [dict(r) for r in self.conn.execute(
            "SELECT id, place_id, place_en, faction, as_of FROM control")]
        return events, control

    # -- writing ---------------------------------------------------------------------------------
    def write_article(self, article_id: str, article, parsed: dict, version: str, *,
                      replace: bool = True) -> WriteResult:
        """Store one article and its pipeline output in one transaction: a new article is
        inserted, a stored one (older pipeline, or --reprocess) has its mentions, events and
        control records replaced; incident links of every event touched are recomputed.
        With `replace=False` an article already stored by this `version` is left alone (another
        writer may have stored it since the caller looked). A record without coordinates
        raises StoreError before anything is written."""
        _check_points(parsed)
        with self.transaction() as conn:
            self._begin_write(conn)
            row = conn.execute("SELECT fid, pipeline_version FROM articles WHERE id = ?",
                               (article_id,)).fetchone()
            if row is not None and row[1] == version and not replace:
                return WriteResult("unchanged")
            meta = (article.doc, article.url, article.source, article.title, article.published)
            if row is None:
                conn.execute(
                    "INSERT INTO articles (id, doc, url, source, title, published, text, "
                    "warnings, pipeline_version, ingested_at, processed_at) VALUES "
                    f"(?, ?, ?, ?, ?, ?, ?, ?, ?, {self._now}, {self._now})",
                    (article_id, *meta, article.text,
                     json.dumps(list(getattr(article, "warnings", []) or []),
                                ensure_ascii=False), version))
                result = WriteResult("new")
                old_incidents: set[str] = set()
            else:
                old_incidents = {r[0] for r in conn.execute(
                    "SELECT DISTINCT incident_id FROM events WHERE article_id = ? "
                    "AND incident_id IS NOT NULL", (article_id,))}
                result = WriteResult("reprocessed")
                result.events_removed = conn.execute(
                    "DELETE FROM events WHERE article_id = ?", (article_id,)).rowcount
                for table in ("mentions", "control"):
                    conn.execute(f"DELETE FROM {table} WHERE article_id = ?", (article_id,))
                conn.execute(f"UPDATE articles SET pipeline_version = ?, "
                             f"processed_at = {self._now} WHERE id = ?", (version, article_id))
            doc_meta = {"doc": article.doc, "url": article.url, "source": article.source,
                        "published": article.published}
            result.mentions = _insert_mentions(conn, article_id, parsed.get("places", []),
                                               article.doc, self._point)
            new_ids = _insert_events(conn, article_id, parsed.get("events", []), doc_meta,
                                     self._point)
            result.events = len(new_ids)
            result.control = _insert_control(conn, article_id, parsed.get("control", []),
                                             article.doc, self._point)
            recompute_incidents(conn, new_ids, old_incidents, self._incident_candidates)
            self._after_write(conn, parsed)
        return result


class EventStore(_Store):
    """One GeoPackage event store; a single writer at a time (BEGIN IMMEDIATE per article)."""

    _now = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

    def __init__(self, path: str | Path, *, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise StoreError(f"no event store at {self.path}; create it with "
                             f"`marsad ingest ARTICLES --db {self.path}`")
        try:
            self.conn = connect(self.path)
            self.conn.execute("PRAGMA journal_mode=DELETE")
            self._ensure_schema(create)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable GeoPackage: {exc}") from None

    def _ensure_schema(self, create: bool) -> None:
        tables = {r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        if {"articles", "events", "mentions", "control"} <= tables:
            try:  # stores made before these indexes existed get them once
                for ddl in _QUERY_INDEXES:
                    self.conn.execute(ddl)
            except sqlite3.OperationalError:
                pass  # a read-only file: queries still work, only slower
            if "marsad_event_blocks" not in tables:
                try:
                    _add_event_blocks(self.conn)
                except sqlite3.OperationalError:
                    pass  # read-only: queries read the table itself (no column copy)
            return
        if not create:
            raise StoreError(f"{self.path} is not a Marsad event store (no events table)")
        if tables:
            raise StoreError(f"{self.path} is a database that Marsad did not create; "
                             "choose another --db")
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute(f"PRAGMA application_id={GPKG_APPLICATION_ID}")
            self.conn.execute(f"PRAGMA user_version={GPKG_USER_VERSION}")
            for stmt in _split_sql(_schema_ddl()):
                self.conn.execute(stmt)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; anything raised inside rolls everything back.

        Inside another transaction it is a SAVEPOINT (as psycopg nests transactions): what it
        did is rolled back alone when something is raised, and committed with the outer one.
        The Dask engine writes each returned partition this way: one commit for many articles,
        each article still all or nothing."""
        if self.conn.in_transaction:
            self.conn.execute("SAVEPOINT marsad_nested")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK TO marsad_nested")
                self.conn.execute("RELEASE marsad_nested")
                raise
            self.conn.execute("RELEASE marsad_nested")
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _begin_write(self, conn) -> None:
        pass  # BEGIN IMMEDIATE already holds the write lock

    @staticmethod
    def _point(lon: float, lat: float) -> bytes:
        return gpkg_point(lon, lat)

    @staticmethod
    def _incident_candidates(conn, ev):
        return _candidates(conn, ev)

    @staticmethod
    def _after_write(conn, parsed: dict) -> None:
        _extend_extents(conn, {"mentions": parsed.get("places", []),
                               "events": parsed.get("events", []),
                               "control": parsed.get("control", [])})

    def fetch_events(self, bounds, where: list[str], params: list, columns: list[str],
                     area=None) -> list[tuple]:
        """Rows (tuples of `columns`) of the events whose point lies in `bounds` (W, S, E, N)
        and that pass the conditions `where` (on alias `e`), through the R-tree. `area` is
        not used here: the caller tests candidates exactly."""
        w, s, e, n = bounds
        cols = ", ".join(f'e."{c}"' for c in columns)
        sql = (f"SELECT {cols} FROM rtree_events_geom r JOIN events e ON e.fid = r.id "
               "WHERE r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ?")
        if where:
            sql += " AND " + " AND ".join(where)
        cur = self.conn.cursor()
        cur.row_factory = None
        return cur.execute(sql, [e, w, n, s, *params]).fetchall()

    # -- counting by index cells (geo.query's interior-cell count) --------------------------------
    # A cell (x0, y0, x1, y1) holds the events whose R-tree minx/miny lie in [x0, x1) x
    # [y0, y1); with float32 cell edges that is exactly the events whose lon/lat do.
    _IN_CELL = "r.minx >= ? AND r.minx < ? AND r.miny >= ? AND r.miny < ?"

    def count_in_cells(self, cells: list[tuple]) -> int:
        """Events in the cells, counted from the R-tree alone (no table lookups)."""
        return sum(self.conn.execute(
            f"SELECT count(*) FROM rtree_events_geom r WHERE {self._IN_CELL}",
            (x0, x1, y0, y1)).fetchone()[0] for x0, y0, x1, y1 in cells)

    def fetch_in_cells(self, cells: list[tuple], columns: list[str], where: Iterable[str] = (),
                       params: Iterable = ()) -> list[tuple]:
        """Rows (tuples of `columns`) of the events in the cells that pass the conditions
        `where` (on alias `e`, bound `params`). The R-tree ids of all cells are gathered
        first, so that rows are read in table order (a fifth faster than one lookup per R-tree
        hit in R-tree order, on a million events)."""
        cols = ", ".join(f'e."{c}"' for c in columns)
        extra = "".join(f" AND {w}" for w in where)
        params = list(params)
        cur = self.conn.cursor()
        cur.row_factory = None
        out: list[tuple] = []
        for start in range(0, len(cells), 200):  # SQLite allows 500 terms in a compound SELECT
            chunk = cells[start:start + 200]
            ids = " UNION ALL ".join(
                f"SELECT id FROM rtree_events_geom r WHERE {self._IN_CELL}" for _ in chunk)
            out += cur.execute(f"SELECT {cols} FROM events e WHERE e.fid IN ({ids}){extra}",
                               [v for x0, y0, x1, y1 in chunk for v in (x0, x1, y0, y1)]
                               + params)
        return out

    def count_dated(self, since: str | None, until: str | None) -> int:
        """Events dated within [since, until] (either may be open), from the date index."""
        where, params = _date_range(since, until)
        return self.conn.execute("SELECT count(*) FROM events e INDEXED BY "
                                 f"idx_events_date_lonlat WHERE {where}", params).fetchone()[0]

    def fetch_dated(self, bounds, since: str | None, until: str | None, columns: list[str],
                    where: Iterable[str] = (), params: Iterable = ()) -> list[tuple]:
        """Rows of the events dated within [since, until] whose lon/lat lie in `bounds`
        (W, S, E, N), through the (date, lon, lat) index, that pass `where` (alias `e`)."""
        w, s, e, n = bounds
        dated, dparams = _date_range(since, until)
        cols = ", ".join(f'e."{c}"' for c in columns)
        extra = "".join(f" AND {x}" for x in where)
        cur = self.conn.cursor()
        cur.row_factory = None
        return cur.execute(
            f"SELECT {cols} FROM events e INDEXED BY idx_events_date_lonlat WHERE {dated} "
            f"AND e.lon BETWEEN ? AND ? AND e.lat BETWEEN ? AND ?{extra}",
            (*dparams, w, e, s, n, *params)).fetchall()

    def area_only_in_cells(self, cells: list[tuple], columns: list[str]) -> list[tuple]:
        """Rows of the area-only events (geo_precision 3; index idx_events_precision) whose
        point lies in one of the cells (by its R-tree minx/miny: the float32 at or below)."""
        if not cells:
            return []
        cols = ", ".join(f'"{c}"' for c in columns)
        cur = self.conn.cursor()
        cur.row_factory = None
        rows = cur.execute(f"SELECT {cols}, lon, lat FROM events "
                           "WHERE geo_precision = 3 AND lon IS NOT NULL").fetchall()
        if not rows:
            return []
        k = len(columns)
        mx = _float32_down(np.array([row[k] for row in rows], dtype=float))
        my = _float32_down(np.array([row[k + 1] for row in rows], dtype=float))
        hit = np.zeros(len(rows), bool)
        for x0, y0, x1, y1 in cells:
            hit |= (mx >= x0) & (mx < x1) & (my >= y0) & (my < y1)
        return [row[:k] for row, h in zip(rows, hit) if h]

    def update_districts(self, changes: list[tuple[str | None, int]]) -> None:
        """Set `district` = first item for the event with fid = second item, in one
        transaction."""
        with self.transaction() as conn:
            conn.executemany("UPDATE events SET district = ? WHERE fid = ?", changes)


def date_range_sql(since_expr: str, until_expr: str, since: str | None, until: str | None
                   ) -> tuple[list[str], list[str]]:
    """SQL conditions, and their bound parameters, for a date range (either end may be open)."""
    where, params = [], []
    if since:
        where.append(f"{since_expr} >= ?")
        params.append(since)
    if until:
        where.append(f"{until_expr} <= ?")
        params.append(until)
    return where, params


def _date_range(since: str | None, until: str | None) -> tuple[str, list[str]]:
    """The condition on `e.date` (only dated events, either end may be open) and its
    parameters."""
    where, params = date_range_sql("e.date", "e.date", since, until)
    return " AND ".join(["e.date IS NOT NULL", *where]), params


def _split_sql(script: str) -> list[str]:
    """Statements of a DDL script; `sqlite3.complete_statement` keeps trigger bodies whole."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


def _insert(conn: sqlite3.Connection, table: str, rec: dict) -> None:
    names = ", ".join(f'"{k}"' for k in rec)
    marks = ", ".join("?" for _ in rec)
    conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(rec.values()))


def _check_points(parsed: dict) -> None:
    """Every place, event and control record has a finite lon and lat (the layers are point
    layers, and queries and maps place records by them)."""
    for layer in ("places", "events", "control"):
        for rec in parsed.get(layer) or ():
            lon, lat = rec.get("lon"), rec.get("lat")
            ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                     for v in (lon, lat))
            if not ok:
                label = rec.get("id") or rec.get("place_id") or rec.get("text") or "?"
                raise StoreError(f"{layer} record {label!r} has no usable coordinates "
                                 f"(lon={lon!r}, lat={lat!r}); nothing of this article was "
                                 "written")


def _insert_mentions(conn, article_id: str, places: list[dict], doc: str | None,
                     point=gpkg_point) -> int:
    for p in places:
        _insert(conn, "mentions", {
            "geom": point(p["lon"], p["lat"]), "article_id": article_id,
            "text": p.get("text"), "start_char": p.get("start"), "end_char": p.get("end"),
            "place_id": p.get("id"), "name_ar": p.get("name_ar"), "name_en": p.get("name_en"),
            "kind": p.get("kind"), "district": p.get("district"), "in_libya": p.get("in_libya"),
            "precision": p.get("precision"), "score": p.get("score"), "doc": doc})
    return len(places)


def _insert_events(conn, article_id: str, events: list[dict], doc_meta: dict,
                   point=gpkg_point) -> list[str]:
    """Insert events (the first of any repeated id wins); their ids."""
    ids: list[str] = []
    seen: set[str] = set()
    for e in events:
        if e["id"] in seen:
            continue
        seen.add(e["id"])
        ids.append(e["id"])
        _insert(conn, "events", {
            "geom": point(e["lon"], e["lat"]), "id": e["id"], "incident_id": e["id"],
            "article_id": article_id, "type": e.get("type"), "family": e.get("family"),
            "date": e.get("date"), "date_precision": e.get("date_precision"),
            "place_id": e.get("place_id"), "place_en": e.get("place_en"),
            "place_ar": e.get("place_ar"), "district": e.get("district"),
            "lat": e["lat"], "lon": e["lon"], "geo_precision": e.get("geo_precision"),
            "in_libya": e.get("in_libya"),
            "actors": json.dumps(list(e.get("actors") or []), ensure_ascii=False),
            "controller_after": e.get("controller_after"), "fatalities": e.get("fatalities"),
            "injuries": e.get("injuries"), "confidence": e.get("confidence"),
            "sentence": e.get("sentence"), "start_char": e.get("start"),
            "end_char": e.get("end"), "place_start_char": e.get("place_start"),
            "place_end_char": e.get("place_end"), **doc_meta})
    return ids


def control_id(article_id: str, rec: dict) -> str:
    """Stable like an event id: article hash, sentence offsets, place and faction."""
    raw = f"{article_id}|{rec.get('start')}|{rec.get('end')}|{rec.get('place_id')}|" \
          f"{rec.get('faction')}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:20]


def _insert_control(conn, article_id: str, records: list[dict], doc: str | None,
                    point=gpkg_point) -> int:
    seen: set[str] = set()
    for c in records:
        cid = control_id(article_id, c)
        if cid in seen:
            continue
        seen.add(cid)
        _insert(conn, "control", {
            "geom": point(c["lon"], c["lat"]), "id": cid, "article_id": article_id,
            "place_id": c.get("place_id"), "place_en": c.get("place_en"),
            "faction": c.get("faction"), "as_of": c.get("as_of"), "sentence": c.get("sentence"),
            "start_char": c.get("start"), "end_char": c.get("end"), "doc": doc})
    return len(seen)


def _extend_extents(conn, records: dict[str, list[dict]]) -> None:
    """Grow each layer's extent in gpkg_contents to cover the points just written (QGIS zooms
    to it) and touch last_change. Deletes do not shrink it: the spec allows a larger box, and a
    full scan per article would make big ingests quadratic."""
    now = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
    for table, recs in records.items():
        if not recs:
            continue
        lons = [r["lon"] for r in recs]
        lats = [r["lat"] for r in recs]
        conn.execute(
            "UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?1), ?1), "
            "max_x = max(coalesce(max_x, ?2), ?2), min_y = min(coalesce(min_y, ?3), ?3), "
            f"max_y = max(coalesce(max_y, ?4), ?4), last_change = {now} WHERE table_name = ?5",
            (min(lons), max(lons), min(lats), max(lats), table))
    conn.execute(f"UPDATE gpkg_contents SET last_change = {now} WHERE table_name = 'articles'")


# -- incidents -----------------------------------------------------------------------------------
@dataclass(slots=True, frozen=True)
class _IncidentEvent:
    fid: int
    id: str
    article_id: str
    family: str | None
    day: date | None
    lat: float
    lon: float
    actors: frozenset

    @classmethod
    def from_row(cls, row) -> _IncidentEvent:
        try:
            day = date.fromisoformat(row["date"]) if row["date"] else None
        except ValueError:
            day = None
        return cls(row["fid"], row["id"], row["article_id"], row["family"], day, row["lat"],
                   row["lon"], frozenset(json.loads(row["actors"] or "[]")))


def same_incident(a: _IncidentEvent, b: _IncidentEvent) -> bool:
    """Two reports of one incident: different articles, same family, <= 5 km, <= 1 day apart,
    compatible actors (the sets intersect, or one of them is empty)."""
    if a.article_id == b.article_id or a.family != b.family or a.family is None:
        return False
    if a.day is None or b.day is None or abs((a.day - b.day).days) > INCIDENT_DAYS:
        return False
    if a.actors and b.actors and not (a.actors & b.actors):
        return False
    if None in (a.lat, a.lon, b.lat, b.lon):  # a row added by hand in QGIS, say
        return False
    return haversine_km(a.lat, a.lon, b.lat, b.lon) <= INCIDENT_KM


_INCIDENT_COLS = "e.fid, e.id, e.article_id, e.family, e.date, e.lat, e.lon, e.actors"


def _candidates(conn, ev: _IncidentEvent) -> list[_IncidentEvent]:
    """Events that could be reports of `ev`'s incident, found through the R-tree."""
    if ev.day is None or ev.family is None:
        return []
    dlat = INCIDENT_KM / 111.0 * 1.01
    dlon = INCIDENT_KM / (111.0 * max(0.05, math.cos(math.radians(ev.lat)))) * 1.01
    lo = date.fromordinal(ev.day.toordinal() - INCIDENT_DAYS).isoformat()
    hi = date.fromordinal(ev.day.toordinal() + INCIDENT_DAYS).isoformat()
    rows = conn.execute(
        f"SELECT {_INCIDENT_COLS} FROM events e JOIN rtree_events_geom r ON r.id = e.fid "
        "WHERE r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ? "
        "AND e.family = ? AND e.date BETWEEN ? AND ? AND e.article_id != ?",
        (ev.lon + dlon, ev.lon - dlon, ev.lat + dlat, ev.lat - dlat, ev.family, lo, hi,
         ev.article_id)).fetchall()
    return [c for c in map(_IncidentEvent.from_row, rows) if same_incident(ev, c)]


# -- incremental incidents (added with the Dask engine, for ingests at scale) -------------------
# Walking the whole connected part of every new event made each write cost O(size of the groups
# it touches): ~60 ms an article at 20,000 articles. Adding events never splits a group, and
# every stored event's incident_id is the smallest id of its group, so the new groups are the
# union of the new events with the groups (labels) of their direct links, named by the smallest
# label: the same answer as the walk.
def _merge_added_events(conn, event_ids: list[str], candidates) -> int | None:
    """Merge the groups of just-added events; the number of events whose incident id changed,
    or None when a linked event has no incident id (a row added by hand): then walk."""
    label: dict[str, str] = {}  # event id -> its stored incident id
    new: list[_IncidentEvent] = []
    for start in range(0, len(event_ids), 500):
        chunk = event_ids[start:start + 500]
        q = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT {_INCIDENT_COLS}, e.incident_id AS incident "
                                f"FROM events e WHERE e.id IN ({q})", chunk):
            if row["incident"] is None:
                return None
            new.append(_IncidentEvent.from_row(row))
            label[row["id"]] = row["incident"]
    links = [(ev, other) for ev in new for other in candidates(conn, ev)]
    linked = list({other.fid for _, other in links})
    other_label: dict[int, str] = {}
    for start in range(0, len(linked), 500):
        chunk = linked[start:start + 500]
        q = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT fid, incident_id FROM events WHERE fid IN ({q})",
                                chunk):
            if row[1] is None:
                return None
            other_label[row[0]] = row[1]
    parent = {lab: lab for lab in (*label.values(), *other_label.values())}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for ev, other in links:
        ra, rb = find(label[ev.id]), find(other_label[other.fid])
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    changed = 0
    for lab in parent:
        root = find(lab)
        if root != lab:
            changed += conn.execute("UPDATE events SET incident_id = ? WHERE incident_id = ?",
                                    (root, lab)).rowcount
    return changed


def recompute_incidents(conn, event_ids: Iterable[str], incident_ids: Iterable[str] = (),
                        candidates=None) -> int:
    """Recompute `incident_id` for the groups that contain `event_ids` (just written) or that
    were `incident_ids` (of events just removed); the number of events whose id changed.

    Walks the link graph from those events to its whole connected part, so the result is the
    same as recomputing every group from scratch. When events were only added (no
    `incident_ids`), the stored incident ids already name the groups, so only the new events'
    own links are looked up and the groups they touch merged (`_merge_added_events`)."""
    incident_ids = set(incident_ids)
    if not incident_ids:
        merged = _merge_added_events(conn, list(event_ids), candidates or _candidates)
        if merged is not None:
            return merged
    seeds: dict[str, _IncidentEvent] = {}
    ids = list(event_ids)
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start:chunk_start + 500]
        q = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT {_INCIDENT_COLS} FROM events e WHERE e.id IN ({q})",
                                chunk):
            seeds[row["id"]] = _IncidentEvent.from_row(row)
    for inc in set(incident_ids):
        for row in conn.execute(f"SELECT {_INCIDENT_COLS} FROM events e WHERE e.incident_id = ?",
                                (inc,)):
            seeds[row["id"]] = _IncidentEvent.from_row(row)
    if not seeds:
        return 0
    parent = {eid: eid for eid in seeds}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    candidates = candidates or _candidates
    nodes = dict(seeds)
    todo = list(seeds.values())
    while todo:
        ev = todo.pop()
        for other in candidates(conn, ev):
            if other.id not in nodes:
                nodes[other.id] = other
                parent[other.id] = other.id
                todo.append(other)
            ra, rb = find(ev.id), find(other.id)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[_IncidentEvent]] = {}
    for eid, ev in nodes.items():
        groups.setdefault(find(eid), []).append(ev)
    changed = 0
    for members in groups.values():
        incident = min(m.id for m in members)
        fids = [m.fid for m in members]
        q = ",".join("?" * len(fids))
        changed += conn.execute(
            f"UPDATE events SET incident_id = ? WHERE fid IN ({q}) "
            "AND (incident_id IS NULL OR incident_id != ?)", (incident, *fids, incident)).rowcount
    return changed


def all_incidents_from_scratch(conn) -> dict[str, str]:
    """{event id: incident id} computed over every stored event at once (for checks/tests)."""
    rows = [_IncidentEvent.from_row(r) for r in conn.execute(
        f"SELECT {_INCIDENT_COLS} FROM events e")]
    parent = {r.id: r.id for r in rows}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            if same_incident(a, b):
                ra, rb = find(a.id), find(b.id)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    return {r.id: find(r.id) for r in rows}
