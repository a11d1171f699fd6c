"""The event store in PostgreSQL + PostGIS, for teams that share one store: `--db postgresql://...`.

Same tables and columns as the GeoPackage store (`geo.store`): `articles`, and the Point
layers `events`, `mentions`, `control` with a `geom geometry(Point, 4326)` column and a GiST
index each. Column types are the PostgreSQL ones of the GeoPackage types (DATE -> date, DOUBLE
-> double precision, BOOLEAN -> boolean ...). Reading and writing share `geo.store._Store`, so
an article is written the same way (one transaction; idempotent by content hash; incidents
recomputed); concurrent writers are serialised by a transaction-level advisory lock, the
PostgreSQL counterpart of SQLite's BEGIN IMMEDIATE.

Queries are pushed down: the GiST index (`&&` on the search box) and PostGIS's exact tests
(`ST_Intersects` with the query polygon, `ST_DWithin` on geography for a radius, which is
geodesic on WGS84) run in the database; parameters are always bound, never interpolated.

The portable SQL of `_Store` uses `?` parameters; `_PgConnection` turns them into psycopg's
`%s` and returns rows that, like `sqlite3.Row`, index by position and by name, with dates and
timestamps as ISO strings (what the GeoPackage returns).
"""

from __future__ import annotations

import datetime as dt
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager

from geo.store import (
    _INCIDENT_COLS,
    ARTICLE_COLUMNS,
    FEATURE_TABLES,
    INCIDENT_DAYS,
    INCIDENT_KM,
    SRS_ID,
    StoreError,
    _IncidentEvent,
    _Store,
    describe,
    same_incident,
)

# GeoPackage column type -> PostgreSQL type (the first word of a column's declaration).
_PG_TYPES = {"TEXT": "text", "DATE": "date", "DOUBLE": "double precision",
             "INTEGER": "integer", "BOOLEAN": "boolean", "DATETIME": "timestamptz"}
# pg_advisory_xact_lock key of the single writer (any constant bigint; "MARSADWR" in ASCII).
WRITE_LOCK = 0x4D41525341445752


# Area-only events, which every area query reads apart from the points.
_AREA_ONLY_INDEX = ("CREATE INDEX events_area_only_gist ON events USING gist (geom) "
                    "WHERE geo_precision = 3")


def _pg_column(name: str, decl: str) -> str:
    first, _, rest = decl.partition(" ")
    return f'"{name}" {_PG_TYPES[first]}{" " + rest if rest else ""}'


def schema_ddl() -> list[str]:
    """CREATE statements of the store: the GeoPackage layout with PostGIS geometry columns."""
    cols = ", ".join(_pg_column(n, t) for n, t in ARTICLE_COLUMNS)
    out = [f"CREATE TABLE articles (fid bigserial PRIMARY KEY, {cols})"]
    for table, columns in FEATURE_TABLES.items():
        cols = ", ".join(_pg_column(n, t) for n, t in columns)
        out += [f"CREATE TABLE {table} (fid bigserial PRIMARY KEY, "
                f"geom geometry(Point, {SRS_ID}), {cols})",
                f"CREATE INDEX {table}_geom_gist ON {table} USING gist (geom)",
                f"CREATE INDEX idx_{table}_article ON {table} (article_id)"]
    out += ["CREATE INDEX idx_events_incident ON events (incident_id)",
            "CREATE INDEX idx_events_family_date ON events (family, date)",
            _AREA_ONLY_INDEX]
    return out


def ewkb_point(lon: float, lat: float) -> str:
    """A Point with SRID 4326 as hex EWKB, which PostGIS reads as geometry input."""
    return struct.pack("<BIidd", 1, 0x20000001, SRS_ID, lon, lat).hex()


class _Row(tuple):
    """A result row: `row[0]`, `row["name"]`, `dict(row)`, like `sqlite3.Row`."""

    __slots__ = ()
    _names: dict[str, int] = {}

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _plain(v):
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def _row_factory(cursor):
    names = [c.name for c in cursor.description or ()]
    row_cls = type("Row", (_Row,), {"__slots__": (), "_names": {n: i for i, n in
                                                                 enumerate(names)}})

    def make(values):
        return row_cls(_plain(v) for v in values)
    return make


_QMARK = re.compile(r"\?")


def to_pyformat(sql: str) -> str:
    """`?` parameters -> psycopg's `%s` (a literal `%` is doubled first)."""
    return _QMARK.sub("%s", sql.replace("%", "%%"))


class _PgConnection:
    """The few connection methods `_Store` and the incident code use, over psycopg."""

    def __init__(self, conn):
        self.raw = conn

    def execute(self, sql: str, params=()):
        cur = self.raw.cursor(row_factory=_row_factory)
        return cur.execute(to_pyformat(sql), tuple(params))

    def executemany(self, sql: str, seq) -> None:
        with self.raw.cursor() as cur:
            cur.executemany(to_pyformat(sql), list(seq))

    def close(self) -> None:
        self.raw.close()


class PostgisStore(_Store):
    """An event store in a PostgreSQL database with PostGIS (created on first use)."""

    _now = "now()"

    def __init__(self, url: str, *, create: bool = True):
        import psycopg

        self.url = url
        self.path = describe(url)  # what messages show: the URL without its password
        try:
            raw = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"cannot connect to {self.path}: {why}") from None
        self.conn = _PgConnection(raw)
        try:
            self._ensure_schema(create)
        except psycopg.Error as exc:
            self.conn.close()
            raise StoreError(f"{self.path}: {str(exc).strip().splitlines()[0]}") from None

    def _tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()")}

    def _ensure_schema(self, create: bool) -> None:
        import psycopg

        if {"articles", "events", "mentions", "control"} <= self._tables():
            has = self.conn.execute(
                "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() "
                "AND indexname = 'events_area_only_gist'").fetchone()
            if not has:  # a store made before this index existed gets it once
                try:
                    self.conn.execute(_AREA_ONLY_INDEX)
                except psycopg.Error:
                    pass  # a role that may not create indexes: queries work, only slower
            return
        if not create:
            raise StoreError(f"{self.path} is not a Marsad event store (no events table); "
                             f"create it with `marsad ingest ARTICLES --db URL`")
        with self.conn.raw.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
            tables = self._tables()  # another writer may have created it meanwhile
            if {"articles", "events", "mentions", "control"} <= tables:
                return
            if tables & {"articles", "events", "mentions", "control"}:
                raise StoreError(f"{self.path} holds some Marsad tables but not all; "
                                 "choose another database or schema")
            try:
                self.conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except psycopg.Error as exc:
                raise StoreError(
                    f"{self.path}: PostGIS is not available ({str(exc).strip().splitlines()[0]});"
                    " a superuser must run CREATE EXTENSION postgis in this database") from None
            for stmt in schema_ddl():
                self.conn.execute(stmt)

    @contextmanager
    def transaction(self) -> Iterator[_PgConnection]:
        """One PostgreSQL transaction; anything raised inside rolls everything back."""
        with self.conn.raw.transaction():
            yield self.conn

    def _begin_write(self, conn) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))

    @staticmethod
    def _point(lon: float, lat: float) -> str:
        return ewkb_point(lon, lat)

    @staticmethod
    def _incident_candidates(conn, ev: _IncidentEvent) -> list[_IncidentEvent]:
        """Events that could be reports of `ev`'s incident, found through the GiST index."""
        if ev.day is None or ev.family is None:
            return []
        lo = dt.date.fromordinal(ev.day.toordinal() - INCIDENT_DAYS).isoformat()
        hi = dt.date.fromordinal(ev.day.toordinal() + INCIDENT_DAYS).isoformat()
        rows = conn.execute(
            f"SELECT {_INCIDENT_COLS} FROM events e WHERE ST_DWithin(e.geom::geography, "
            "ST_SetSRID(ST_MakePoint(?, ?), 4326)::geography, ?) "
            "AND e.family = ? AND e.date BETWEEN ? AND ? AND e.article_id != ?",
            (ev.lon, ev.lat, INCIDENT_KM * 1000 * 1.01, ev.family, lo, hi,
             ev.article_id)).fetchall()
        return [c for c in map(_IncidentEvent.from_row, rows) if same_incident(ev, c)]

    @staticmethod
    def _after_write(conn, parsed: dict) -> None:
        pass  # PostGIS keeps its indexes and extents itself

    def fetch_events(self, bounds, where: list[str], params: list, columns: list[str],
                     area=None) -> list[tuple]:
        """Rows (tuples of `columns`) of the events in `bounds` (W, S, E, N; GiST index) that
        pass `where` (on alias `e`) and, when `area` is given, PostGIS's test of the area: a
        point in or on the polygon (`ST_Intersects`), within the radius (`ST_DWithin` on
        geography, 1 m of slack that the caller's exact test removes), or at one of a city's
        places. For a bbox the index test is the exact one (a point's box is the point).
        Area-only events (geo_precision 3) in `bounds` come too, for the caller to decide:
        a second SELECT (an OR in one would keep PostgreSQL from testing the area cheaply)."""
        cols = ", ".join(f'e."{c}"' for c in columns)
        point_sql, args = self._area_sql(bounds, area)
        extra = "".join(f" AND {w}" for w in where)
        sql = (f"SELECT {cols} FROM events e WHERE {point_sql} "
               f"AND e.geo_precision IS DISTINCT FROM 3{extra}")
        args = [*args, *params]
        if area is None or area.kind != "city":
            box_sql, box_args = self._area_sql(bounds, None)
            sql += (f" UNION ALL SELECT {cols} FROM events e WHERE {box_sql} "
                    f"AND e.geo_precision = 3{extra}")
            args += [*box_args, *params]
        cur = self.conn.raw.cursor()
        cur.execute(to_pyformat(sql), args)
        return [tuple(_plain(v) for v in row) for row in cur.fetchall()]

    @staticmethod
    def _area_sql(bounds, area, slack_m: float = 1.0) -> tuple[str, list]:
        """The condition (alias `e`) and its parameters for point events in `bounds` and
        `area` (a radius grown by `slack_m`)."""
        w, s, e, n = bounds
        conds = ["e.geom && ST_MakeEnvelope(?, ?, ?, ?, 4326)"]
        args: list = [w, s, e, n]
        if area is not None and area.kind == "city":
            conds.append("e.place_id = ANY(?)")
            args.append(sorted(area.place_ids))
        elif area is not None and area.kind == "radius":
            conds.append("ST_DWithin(e.geom::geography, "
                         "ST_SetSRID(ST_MakePoint(?, ?), 4326)::geography, ?)")
            args += [*area.center, area.radius_m + slack_m]
        elif area is not None and area.kind != "bbox" and area.geometry is not None:
            conds.append("ST_Intersects(e.geom, ST_GeomFromWKB(?, 4326))")
            args.append(area.geometry.wkb)
        return " AND ".join(conds), args

    def area_only(self, bounds, columns: list[str]) -> list[tuple]:
        """Rows (tuples of `columns`) of the area-only events (geo_precision 3; partial GiST
        index) whose point lies in `bounds`."""
        cols = ", ".join(f'e."{c}"' for c in columns)
        box_sql, args = self._area_sql(bounds, None)
        cur = self.conn.raw.cursor()
        cur.execute(to_pyformat(f"SELECT {cols} FROM events e WHERE {box_sql} "
                                "AND e.geo_precision = 3"), args)
        return [tuple(_plain(v) for v in row) for row in cur.fetchall()]

    def count_points(self, bounds, area) -> int:
        """The number of point events (not area-only) in `area`, counted by PostGIS (a
        radius to within a millimetre, as geo.query's own test: PostGIS and pyproj compute
        geodesic distances by different methods)."""
        sql, args = self._area_sql(bounds, area, slack_m=1e-3)
        cur = self.conn.raw.cursor()
        cur.execute(to_pyformat("SELECT count(*) FROM events e WHERE " + sql
                                + " AND e.geo_precision IS DISTINCT FROM 3"), args)
        return cur.fetchone()[0]

    def update_districts(self, changes: list[tuple[str | None, int]]) -> None:
        with self.transaction() as conn:
            conn.executemany("UPDATE events SET district = ? WHERE fid = ?", changes)
