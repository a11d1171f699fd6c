"""The gazetteer's record type and its validation."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

KINDS = (
    "country", "region", "district", "city", "town", "village", "neighbourhood",
    "airport", "airbase", "port", "oil_field", "oil_terminal", "checkpoint", "bridge", "camp",
    "road", "facility",
)
FACILITY_KINDS = frozenset(
    {"airport", "airbase", "port", "oil_field", "oil_terminal", "checkpoint", "bridge", "camp",
     "road", "facility"}
)
AREA_KINDS = frozenset({"country", "region", "district"})
PRECISIONS = ("exact", "approximate", "low")

# Libya's bounding box with a small margin (offshore fields lie just off the coast).
LIBYA_BBOX = (9.2, 19.4, 25.3, 34.0)  # west, south, east, north


# Places small enough that an ordinary word or a surname is the likelier reading of their name
# (السراج, المدينة, الهيرة): settlements under this importance, and facilities.
MINOR_IMPORTANCE = 10000


def is_minor(p: "Place") -> bool:
    if not p.in_libya:
        return False
    if p.kind in FACILITY_KINDS:
        return True
    return p.kind in ("village", "neighbourhood", "town") and p.importance < MINOR_IMPORTANCE


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km on the mean Earth radius (WGS84's 6371.0088 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


class GazetteerError(ValueError):
    """A gazetteer record or file that cannot be used."""


@dataclass(slots=True)
class Place:
    id: str
    name_ar: str
    name_en: str
    kind: str
    lat: float
    lon: float
    variants_ar: list[str] = field(default_factory=list)
    variants_en: list[str] = field(default_factory=list)
    district: str | None = None
    parent: str | None = None
    importance: int = 0
    in_libya: bool = True
    source: str = ""
    second_source: str = ""
    precision: str = "exact"
    precision_note: str = ""

    @property
    def is_area(self) -> bool:
        return self.kind in AREA_KINDS

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Place":
        known = {k: d[k] for k in cls.__slots__ if k in d}
        place = cls(**known)
        validate_place(place)
        return place


def validate_place(p: Place) -> None:
    """Raise GazetteerError when a record breaks the schema's invariants."""
    where = f"gazetteer record {p.id!r}"
    if not p.id:
        raise GazetteerError("gazetteer record without id")
    if p.kind not in KINDS:
        raise GazetteerError(f"{where}: unknown kind {p.kind!r}")
    if not (p.name_ar or p.name_en):
        raise GazetteerError(f"{where}: needs an Arabic or English name")
    try:
        p.lat, p.lon = float(p.lat), float(p.lon)
    except (TypeError, ValueError):
        raise GazetteerError(f"{where}: lat/lon are not numbers") from None
    if not (-90 <= p.lat <= 90 and -180 <= p.lon <= 180):
        raise GazetteerError(f"{where}: lat/lon out of range")
    if p.in_libya:
        w, s, e, n = LIBYA_BBOX
        if not (w <= p.lon <= e and s <= p.lat <= n):
            raise GazetteerError(f"{where}: marked in_libya but lies outside Libya")
    if p.precision not in PRECISIONS:
        raise GazetteerError(f"{where}: unknown precision {p.precision!r}")
    p.importance = int(p.importance or 0)
