from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Keep every test away from the real user gazetteer (~/.local/share/marsad) and the real
    query cache (~/.cache/marsad)."""
    monkeypatch.setenv("MARSAD_HOME", str(tmp_path_factory.mktemp("marsad_home")))
    monkeypatch.setenv("MARSAD_CACHE_DIR", str(tmp_path_factory.mktemp("marsad_cache")))


@pytest.fixture(scope="session")
def gaz():
    from gazetteer.load import DEFAULT_PATH, load_gazetteer

    return load_gazetteer(DEFAULT_PATH, user=False)


@pytest.fixture(scope="session")
def resolver(gaz):
    from geo.resolve import Resolver

    return Resolver(gaz)


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL + PostGIS server for the whole session (tests/pgserver.py): a throwaway
    one on 127.0.0.1 in a temporary directory, or the existing server at $MARSAD_TEST_PG
    (a postgresql:// URL of a role that may create databases). Fails, never skips, when the
    server cannot start: a skip would hide a missing `bash scripts/install_postgis.sh`."""
    import os

    from pgserver import ExternalServer, PostgresError, PostgresServer

    url = os.environ.get("MARSAD_TEST_PG")
    server, problem = None, None
    try:
        server = ExternalServer(url) if url else PostgresServer(fast=True).start()
    except PostgresError as e:
        problem = str(e)
    if problem:
        pytest.fail(f"PostgreSQL test server could not start: {problem}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server, request):
    """URL of a fresh database with PostGIS for this test, dropped afterwards."""
    import psycopg
    from pgserver import PostgresError, random_name

    name = random_name(request.node.name)
    url, problem = None, None
    try:
        url = pg_server.create_database(name)
    except (PostgresError, psycopg.Error, OSError) as e:
        problem = str(e)
    if problem:
        pytest.fail(f"could not create a PostGIS test database on {pg_server.url}: {problem}",
                    pytrace=False)
    yield url
    pg_server.drop_database(name)
