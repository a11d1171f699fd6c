from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Keep every test away from the real user gazetteer (~/.local/share/marsad)."""
    monkeypatch.setenv("MARSAD_HOME", str(tmp_path_factory.mktemp("marsad_home")))


@pytest.fixture(scope="session")
def gaz():
    from gazetteer.load import DEFAULT_PATH, load_gazetteer

    return load_gazetteer(DEFAULT_PATH, user=False)


@pytest.fixture(scope="session")
def resolver(gaz):
    from geo.resolve import Resolver

    return Resolver(gaz)
