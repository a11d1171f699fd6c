"""The throwaway PostgreSQL + PostGIS server the PostGIS store tests run against
(tests/pgserver.py, installed by scripts/install_postgis.sh)."""

import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from pgserver import PostgresServer


def test_fresh_database_has_postgis(pg_url):
    with psycopg.connect(pg_url) as con:
        version = con.execute("SELECT postgis_full_version()").fetchone()[0]
        assert version.startswith("POSTGIS=")
        assert con.execute("SHOW server_encoding").fetchone()[0] == "UTF8"
        point = con.execute("SELECT ST_AsText(ST_SetSRID(ST_MakePoint(13.18, 32.89), 4326))"
                            ).fetchone()[0]
        assert point == "POINT(13.18 32.89)"
        # Arabic text round-trips.
        assert con.execute("SELECT %s::text", ["طرابلس"]).fetchone()[0] == "طرابلس"


def test_fresh_databases_are_independent(pg_server, pg_url):
    other = pg_server.create_database()
    try:
        with psycopg.connect(pg_url) as con:
            con.execute("CREATE TABLE events (id int PRIMARY KEY, geom geometry(Point, 4326))")
            con.execute("INSERT INTO events VALUES (1, ST_SetSRID(ST_MakePoint(20.07, 32.12), 4326))")
        with psycopg.connect(other) as con:
            assert con.execute("SELECT to_regclass('events')").fetchone()[0] is None
            assert con.execute("SELECT extname FROM pg_extension WHERE extname = 'postgis'"
                               ).fetchone() == ("postgis",)
        with psycopg.connect(pg_url) as con:
            assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    finally:
        pg_server.drop_database(other.rsplit("/", 1)[1])


def _refused(url):
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5).close()


def test_server_is_gone_after_the_context_manager():
    with PostgresServer() as server:
        assert server.is_running()
        with psycopg.connect(server.url) as con:
            assert con.execute("SELECT 1").fetchone() == (1,)
        pid, directory, url = server.pid, server.dir, server.url
        assert pid and directory.is_dir()
    assert not server.is_running(), f"postmaster {pid} still running"
    assert not directory.exists()
    _refused(url)
    server.stop()  # a second stop is harmless


def test_server_is_stopped_when_the_block_raises():
    with pytest.raises(RuntimeError, match="boom"), PostgresServer() as server:
        url = server.url
        raise RuntimeError("boom")
    assert not server.is_running()
    assert not server.dir.exists()
    _refused(url)


def test_hold_prints_a_url_and_stops_on_sigterm():
    script = Path(__file__).with_name("pgserver.py")
    proc = subprocess.Popen([sys.executable, str(script), "--hold", "--database", "bench"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("postgresql://") and url.endswith("/bench"), proc.stderr.read()
        with psycopg.connect(url) as con:
            assert con.execute("SHOW fsync").fetchone() == ("on",)  # normal durability
            assert con.execute("SELECT postgis_lib_version()").fetchone()[0]
            data_dir = Path(con.execute("SHOW data_directory").fetchone()[0])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not data_dir.exists()
    _refused(url)
