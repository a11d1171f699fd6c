"""Import a GeoNames country dump (LY.txt / LY.zip, optional alternateNamesV2) into the user
gazetteer, which extends the embedded one.

GeoNames' `geoname` table is tab-separated with 19 columns (see the GeoNames readme):
geonameid, name, asciiname, alternatenames, latitude, longitude, feature class, feature code,
country code, cc2, admin1..admin4, population, elevation, dem, timezone, modification date.
`alternateNamesV2` has: alternateNameId, geonameid, isolanguage, alternate name, isPreferredName,
isShortName, isColloquial, isHistoric, from, to.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Iterator

from gazetteer.load import read_places, user_gazetteer_path, write_places
from gazetteer.model import LIBYA_BBOX, Place

# feature code -> our kind; codes not listed (wadis, hills, wells ...) are not imported
FEATURE_KINDS = {
    "PPLC": "city", "PPLA": "city", "PPLA2": "town", "PPLA3": "town", "PPLA4": "town",
    "PPL": "village", "PPLL": "village", "PPLS": "village", "PPLF": "village", "PPLQ": "village",
    "PPLW": "village", "PPLX": "neighbourhood", "STLMT": "village", "OAS": "town",
    "AIRP": "airport", "AIRB": "airbase", "AIRF": "airport", "AIRH": "airport",
    "PRT": "port", "HBR": "port", "OILF": "oil_field", "OILT": "oil_terminal",
    "OILJ": "oil_terminal", "GASF": "oil_field", "OILR": "facility",
    "MILB": "camp", "INSM": "camp", "BDG": "bridge", "RD": "road", "RGN": "region",
    "CSTM": "checkpoint",
}
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_N_COLUMNS = 19


class GeoNamesError(ValueError):
    pass


def _open_text(path: Path, member_hint: str | None = None) -> Iterator[str]:
    """Lines of a GeoNames text file, or of the matching member of a zip archive."""
    if path.suffix.lower() == ".zip":
        try:
            zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise GeoNamesError(f"{path}: not a zip archive") from None
        names = [n for n in zf.namelist() if n.endswith(".txt") and "readme" not in n.lower()]
        if member_hint:
            names = [n for n in names if member_hint.lower() in n.lower()] or names
        if not names:
            raise GeoNamesError(f"{path}: no .txt member in the archive")
        with zf, zf.open(names[0]) as fh:
            yield from io.TextIOWrapper(fh, encoding="utf-8")
        return
    try:
        with open(path, encoding="utf-8") as fh:
            yield from fh
    except UnicodeDecodeError:
        raise GeoNamesError(f"{path}: not UTF-8 text; is this a GeoNames dump?") from None


def read_alternate_names(path: Path, ids: set[str]) -> dict[str, list[tuple[str, bool]]]:
    """geonameid -> [(Arabic name, preferred)] for the given ids."""
    out: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for n, line in enumerate(_open_text(path, "alternateNames"), 1):
        cols = line.rstrip("\n").split("\t")
        if len(cols) < 4:
            raise GeoNamesError(f"{path}:{n}: expected the alternateNamesV2 columns")
        if cols[1] in ids and cols[2] == "ar" and cols[3].strip():
            preferred = len(cols) > 4 and cols[4] == "1"
            historic = len(cols) > 7 and cols[7] == "1"
            if not historic:
                out[cols[1]].append((cols[3].strip(), preferred))
    return out


def parse_geonames(path: Path, country: str = "LY") -> list[tuple[Place, list[str]]]:
    """Places of a GeoNames dump with their raw alternate names."""
    rows = []
    for n, line in enumerate(_open_text(path), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.rstrip("\n").split("\t")
        if len(cols) != _N_COLUMNS:
            raise GeoNamesError(f"{path}:{n}: expected {_N_COLUMNS} tab-separated columns, "
                                f"found {len(cols)}; is this a GeoNames dump (LY.txt)?")
        gid, name, ascii_name, alts = cols[0], cols[1], cols[2], cols[3]
        fcode, cc = cols[7], cols[8]
        kind = FEATURE_KINDS.get(fcode)
        if kind is None or (country and cc != country):
            continue
        try:
            lat, lon = float(cols[4]), float(cols[5])
            pop = int(cols[14] or 0)
        except ValueError:
            raise GeoNamesError(f"{path}:{n}: bad latitude/longitude/population") from None
        if kind == "village" and pop >= 10000:
            kind = "town"
        w, s, e, nb = LIBYA_BBOX
        in_libya = cc == "LY" and w <= lon <= e and s <= lat <= nb
        alt_list = [a for a in alts.split(",") if a]
        en = [name] + [a for a in [ascii_name] if a and a != name]
        place = Place(id=f"gn:{gid}", name_ar="", name_en=name, variants_en=en[1:], kind=kind,
                      lat=round(lat, 6), lon=round(lon, 6), importance=pop, in_libya=in_libya,
                      source=f"GeoNames {gid} (CC BY 4.0), user import",
                      precision="exact" if kind not in ("region", "road") else "approximate")
        rows.append((place, alt_list))
    return rows


def import_geonames(path: Path, alternate_names: Path | None = None, *, country: str = "LY",
                    target: Path | None = None) -> tuple[int, Path]:
    """Merge a GeoNames dump into the user gazetteer; returns (records imported, file)."""
    if not path.exists():
        raise GeoNamesError(f"{path}: no such file")
    rows = parse_geonames(path, country)
    if not rows:
        raise GeoNamesError(f"{path}: no importable {country} places (populated places, "
                            "airports, ports, oil fields, bases ...)")
    arabic: dict[str, list[tuple[str, bool]]] = {}
    if alternate_names:
        arabic = read_alternate_names(alternate_names, {p.id[3:] for p, _ in rows})
    places = []
    for place, alts in rows:
        ar = [a for a, _ in sorted(arabic.get(place.id[3:], []), key=lambda x: not x[1])]
        ar += [a for a in alts if _ARABIC.search(a)]
        ar = list(dict.fromkeys(ar))
        if ar:
            place.name_ar, place.variants_ar = ar[0], ar[1:]
        latin = [a for a in alts if a.isascii() and not (len(a) <= 4 and a.isupper())]
        place.variants_en = list(dict.fromkeys(place.variants_en + latin))[:15]
        places.append(place)
    from gazetteer.build import assign_districts

    assign_districts(places)
    target = target or user_gazetteer_path()
    existing = read_places(target) if target.exists() else []
    new_ids = {p.id for p in places}
    merged = [p for p in existing if p.id not in new_ids] + places
    write_places(target, merged)
    return len(places), target
