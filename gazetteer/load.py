"""Loading the embedded gazetteer and the user's extensions."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from gazetteer.index import Gazetteer
from gazetteer.model import GazetteerError, Place

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_PATH = DATA_DIR / "gazetteer.jsonl"


def marsad_home() -> Path:
    """Where Marsad keeps per-user data (user gazetteer); `MARSAD_HOME` overrides."""
    env = os.environ.get("MARSAD_HOME")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "marsad"


def user_gazetteer_path() -> Path:
    return marsad_home() / "user_gazetteer.jsonl"


def read_places(path: Path) -> list[Place]:
    """Records of a gazetteer JSONL file; a broken line is an error naming file and line."""
    places = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                places.append(Place.from_dict(json.loads(line)))
            except (json.JSONDecodeError, TypeError, GazetteerError) as exc:
                raise GazetteerError(f"{path}:{n}: {exc}") from None
    return places


def write_places(path: Path, places: list[Place]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for p in places:
            fh.write(json.dumps(p.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
    os.replace(tmp, path)


def load_gazetteer(path: Path | None = None, *, user: bool = True) -> Gazetteer:
    """The default gazetteer, extended (and overridden by id) by the user's gazetteer."""
    paths = [Path(path) if path else DEFAULT_PATH]
    if user and user_gazetteer_path().exists():
        paths.append(user_gazetteer_path())
    return _load(tuple(str(p) for p in paths), tuple(_stamp(p) for p in paths))


def _stamp(p: Path) -> tuple[int, int]:
    st = Path(p).stat()
    return st.st_mtime_ns, st.st_size


@lru_cache(maxsize=4)
def _load(paths: tuple[str, ...], stamps: tuple) -> Gazetteer:
    places: list[Place] = []
    for p in paths:
        places.extend(read_places(Path(p)))
    return Gazetteer(places)
