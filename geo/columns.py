"""A columnar copy of a GeoPackage store's events, for queries that return many rows.

SQLite reads a row at a time: a query that returns a tenth of a million events spends most of
its second reading rows and turning them into Python objects. This module keeps the listing
columns of the events table as Arrow IPC files, one per block of 2**15 fids, in the user's
cache directory; queries memory-map them (no copy, no parsing), pick their rows with numpy and
hand the chosen rows to pandas in one step. Within a block the rows are sorted by 0.1-degree
grid cell, and the cell number is a column: a box query binary-searches it, one range per grid
row of the box (`rows_in_box`), so it reads only the rows near the box.

It is a cache: the store stays the only record, and the copy is rebuilt from it whenever it
may differ. The store's `marsad_event_blocks` table (geo.store) gives each block a new random
version whenever any row in it is inserted, changed or deleted, by Marsad or by any other
program (the triggers live in the file). A block's file carries the version it was built from,
and files are read only when every version matches the table, read in the same transaction.
So the copy is exactly the store at one moment; stale blocks are rebuilt (only those: adding a
few articles rebuilds the last block) and old files are removed.

Where the copy is kept: `$MARSAD_CACHE_DIR`, else `$XDG_CACHE_HOME/marsad`, else
`~/.cache/marsad`, under `columns/<hash of the store's path>/` (with `store.txt` naming the
store; the copies of stores that no longer exist are removed). `MARSAD_CACHE_DIR=off` turns it
off. Deleting the directory is always safe. Stores with fewer than `MIN_EVENTS` events, PostGIS
stores, read-only stores made before the block table existed, and an unwritable cache directory
all use the SQL path (same answers, slower for big results).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import ipc

from geo.store import EVENT_BLOCK_BITS, LISTING_COLUMNS

CACHE_ENV = "MARSAD_CACHE_DIR"
MIN_EVENTS = 20_000  # below this, SQLite answers any query fast enough
FORMAT = 2  # bump when the columns, their types or the order change: older files are ignored
CELL_DEG = 0.1  # the spatial index: rows sorted by 0.1-degree grid cell within each block
_CELL_COLS = round(360 / CELL_DEG)
_CELL_ROWS = round(180 / CELL_DEG)  # the last row number (lat 90)

_TEXT = ("id", "incident_id", "type", "family", "date", "date_precision", "place_en",
         "place_ar", "district", "actors", "controller_after", "doc", "url", "source",
         "sentence", "place_id")
_FLOAT = ("lat", "lon", "confidence")
_INT = ("fid", "geo_precision", "fatalities", "injuries")
COLUMNS = list(dict.fromkeys(["fid"] + LISTING_COLUMNS + ["place_id"]))
SCHEMA = pa.schema([(c, pa.string() if c in _TEXT else pa.float64() if c in _FLOAT
                     else pa.int64()) for c in COLUMNS] + [("cell", pa.int32())])
assert set(COLUMNS) == set(_TEXT) | set(_FLOAT) | set(_INT)


def cache_root() -> Path | None:
    """The cache directory, or None when `$MARSAD_CACHE_DIR` is `off`."""
    env = os.environ.get(CACHE_ENV)
    if env is not None and env.strip().lower() in ("off", "0", "no", "false"):
        return None
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "marsad"


def store_dir(db_path: Path, root: Path) -> Path:
    key = hashlib.sha256(str(Path(db_path).resolve()).encode()).hexdigest()[:16]
    return root / "columns" / key


def _file_name(block: int, version: int) -> str:
    return f"f{FORMAT}-b{block:06d}-{version & 0xFFFF_FFFF_FFFF_FFFF:016x}.arrow"


# -- building a block ------------------------------------------------------------------------------
def _array(values: list, column: str) -> pa.Array:
    """One column of a block as Arrow, whatever another program stored in it: text columns
    become strings, numeric columns numbers (anything unreadable becomes null, as the SQL
    path's `pd.to_numeric(errors="coerce")` does)."""
    typ = SCHEMA.field(column).type
    plain = column not in _INT or all(v is None or type(v) is int for v in values)
    if plain:  # (pyarrow would cut 2.5 to 2 in an integer column)
        try:
            return pa.array(values, type=typ)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
    if column in _TEXT:
        return pa.array([v if v is None or isinstance(v, str)
                         else v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                         for v in values], type=typ)
    num = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    if column in _INT:
        num = num.where(num == num.round()).astype("Int64")
    return pa.array(num, type=typ, from_pandas=True)


def _read_block(conn: sqlite3.Connection, block: int) -> pa.Table:
    lo = block << EVENT_BLOCK_BITS
    cur = conn.cursor()
    cur.row_factory = None
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    rows = cur.execute(f"SELECT {cols} FROM events WHERE fid >= ? AND fid < ? ORDER BY fid",
                       (lo, lo + (1 << EVENT_BLOCK_BITS))).fetchall()
    data = list(zip(*rows)) if rows else [() for _ in COLUMNS]
    arrays = [_array(list(v), c) for v, c in zip(data, COLUMNS)]
    lon = arrays[COLUMNS.index("lon")].to_numpy(zero_copy_only=False)
    lat = arrays[COLUMNS.index("lat")].to_numpy(zero_copy_only=False)
    cell = _cells(lon, lat)
    table = pa.Table.from_arrays([*arrays, pa.array(cell)], schema=SCHEMA)
    return table.take(np.argsort(cell, kind="stable"))  # fid order within a cell


# -- the spatial index -------------------------------------------------------------------------
def _row_col(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Grid row and column of points (the same arithmetic at build and query time: it is
    monotonic, so every point of a box lies in the cells between the box corners' cells)."""
    with np.errstate(invalid="ignore"):
        return (np.floor((np.asarray(lat, float) + 90) / CELL_DEG),
                np.floor((np.asarray(lon, float) + 180) / CELL_DEG))


def _cells(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Grid cell numbers (row-major); -1 for a point without coordinates or off the globe."""
    row, col = _row_col(lon, lat)
    col = np.minimum(col, _CELL_COLS - 1)  # lon 180 joins the last column, as in rows_in_box
    ok = (np.isfinite(row) & np.isfinite(col) & (row >= 0) & (row <= _CELL_ROWS) & (col >= 0))
    out = np.full(len(row), -1, dtype=np.int32)
    out[ok] = (row[ok] * _CELL_COLS + col[ok]).astype(np.int32)
    return out


def rows_in_box(table: pa.Table, bounds) -> np.ndarray:
    """Row numbers (ascending) of the events whose lon/lat lie in the closed box (W, S, E, N):
    per block, a binary search of the cell column for each grid row the box covers, then the
    exact test on those rows only."""
    w, s, e, n = bounds
    (r0, r1), (c0, c1) = _row_col([w, e], [s, n])
    r0, r1 = int(max(r0, 0)), int(min(r1, _CELL_ROWS))
    c0, c1 = int(max(c0, 0)), int(min(c1, _CELL_COLS - 1))
    if not (r0 <= r1 and c0 <= c1):
        return np.zeros(0, dtype=np.int64)
    grid_rows = np.arange(r0, r1 + 1, dtype=np.int64) * _CELL_COLS
    lo_keys, hi_keys = grid_rows + c0, grid_rows + c1
    out, start = [], 0
    for batch in table.to_batches():
        cell = batch.column("cell").to_numpy()
        lo = np.searchsorted(cell, lo_keys, side="left")
        hi = np.searchsorted(cell, hi_keys, side="right")
        if (hi > lo).any():
            local = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi) if b > a])
            local.sort()
            x = batch.column("lon").to_numpy(zero_copy_only=False)[local]
            y = batch.column("lat").to_numpy(zero_copy_only=False)[local]
            out.append(local[(x >= w) & (x <= e) & (y >= s) & (y <= n)] + start)
        start += batch.num_rows
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _per_block(table: pa.Table, rows: np.ndarray):
    """(block, its row numbers) for ascending row numbers of `table`, blocks without rows left
    out."""
    batches = table.to_batches()
    ends = np.cumsum([b.num_rows for b in batches])
    cuts = np.searchsorted(rows, ends)
    lo, start = 0, 0
    for batch, end, hi in zip(batches, ends, cuts):
        if hi > lo:
            yield batch, rows[lo:hi] - start
        lo, start = hi, end


def values_at(table: pa.Table, column: str, rows: np.ndarray) -> np.ndarray:
    """A numeric column's values (nulls as NaN) at ascending row numbers, block by block."""
    out = [batch.column(column).to_numpy(zero_copy_only=False)[local]
           for batch, local in _per_block(table, rows)]
    return np.concatenate(out) if out else np.zeros(0)


def take_rows(table: pa.Table, rows) -> pa.Table:
    """`table.take(rows)` for ascending row numbers, one block at a time (a take across the
    blocks of a chunked table costs twice as much)."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(table.to_batches()) <= 1:
        return table.take(rows)
    out = [batch.take(pa.array(local)) for batch, local in _per_block(table, rows)]
    return pa.Table.from_batches(out, schema=table.schema) if out else table.schema.empty_table()


def _write(table: pa.Table, path: Path) -> None:
    """Write next to `path`, then rename: readers see the old file or the whole new one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".arrow")
    try:
        with os.fdopen(fd, "wb") as f, ipc.new_file(f, SCHEMA) as writer:
            writer.write_table(table)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _open(path: Path) -> pa.Table | None:
    """A block file, memory-mapped; None if it is missing, damaged or of another schema."""
    try:
        table = ipc.open_file(pa.memory_map(str(path))).read_all()
    except (OSError, pa.ArrowInvalid):
        return None
    return table if table.schema.equals(SCHEMA) else None


# -- the copy of a store -------------------------------------------------------------------------
def event_columns(store, *, progress: bool | None = None) -> pa.Table | None:
    """All events of the GeoPackage `store` (an open geo.store.EventStore) as one Arrow table
    (`COLUMNS`, in fid order), from the cached copy, rebuilding the blocks that changed. None
    when the copy is not used (see the module docstring): the caller then reads the store."""
    path = getattr(store, "path", None)
    root = cache_root()
    if path is None or root is None:
        return None
    conn = store.conn
    began = not conn.in_transaction
    if began:
        conn.execute("BEGIN")  # one read snapshot for the versions and the blocks read
    try:
        try:
            versions = dict(conn.execute("SELECT block, version FROM marsad_event_blocks"
                                         " ORDER BY block").fetchall())
        except sqlite3.OperationalError:
            return None  # a read-only store made before the block table
        top = conn.execute("SELECT max(fid) FROM events").fetchone()[0]
        if top is None or top < MIN_EVENTS:
            return None
        directory = store_dir(path, root)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            warnings.warn(f"query cache not used ({directory}: {exc.strerror}); "
                          f"set {CACHE_ENV} to a writable directory, or to off", stacklevel=2)
            return None
        _label(directory, path)
        tables, stale = {}, []
        for block, version in versions.items():
            t = _open(directory / _file_name(block, version))
            if t is None:
                stale.append(block)
            else:
                tables[block] = t
        if stale:
            show = progress if progress is not None else (len(stale) > 4 and sys.stderr.isatty())
            items = stale
            if show:
                from tqdm import tqdm

                items = tqdm(stale, desc="copying events for fast queries", unit="block",
                             file=sys.stderr, leave=False)
            for block in items:
                table = _read_block(conn, block)
                try:
                    _write(table, directory / _file_name(block, versions[block]))
                except OSError as exc:
                    warnings.warn(f"query cache not used ({directory}: {exc.strerror})",
                                  stacklevel=2)
                    return None
                tables[block] = _open(directory / _file_name(block, versions[block])) or table
    finally:
        if began and conn.in_transaction:
            conn.execute("COMMIT")
    _remove_others(directory, {_file_name(b, v) for b, v in versions.items()})
    if stale:
        _remove_orphans(root)
    parts = [tables[b] for b in sorted(tables) if tables[b].num_rows]
    return pa.concat_tables(parts) if parts else SCHEMA.empty_table()


STORE_FILE = "store.txt"  # in each store's directory: the path of the store it copies


def _label(directory: Path, db_path: Path) -> None:
    label = directory / STORE_FILE
    if not label.exists():
        try:
            label.write_text(str(Path(db_path).resolve()) + "\n", encoding="utf-8")
        except OSError:
            pass


def _remove_orphans(root: Path) -> None:
    """The copies of stores that no longer exist (deleted or moved)."""
    import shutil

    for label in (root / "columns").glob(f"*/{STORE_FILE}"):
        try:
            gone = not Path(label.read_text(encoding="utf-8").strip()).exists()
        except OSError:
            continue
        if gone:
            shutil.rmtree(label.parent, ignore_errors=True)


def _remove_others(directory: Path, keep: set[str]) -> None:
    """Old versions and blocks that no longer exist (best effort: another process may be
    reading them, which POSIX allows; elsewhere the next run tries again)."""
    for f in directory.glob("*.arrow"):
        if f.name not in keep and not f.name.startswith(".tmp-"):
            try:
                f.unlink()
            except OSError:
                pass
