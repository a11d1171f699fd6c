"""The `marsad` command line. Each command wires plain pipeline steps together."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from gazetteer.model import GazetteerError


def _gazetteer(path: str | None):
    from gazetteer.load import load_gazetteer

    try:
        return load_gazetteer(Path(path) if path else None)
    except (OSError, GazetteerError) as exc:
        raise click.ClickException(f"cannot load gazetteer: {exc}") from None


def _warn(msg: str) -> None:
    click.echo(f"warning: {msg}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="marsad")
def main() -> None:
    """Marsad (مرصد): map the Libyan conflict from Arabic news.

    \b
    marsad demo                           the main job on seeds/ -> out/
    marsad parse seeds/*.txt              places and events found in articles, as JSON lines
    marsad gazetteer lookup "طرابس"        ranked gazetteer candidates for a name
    marsad ingest seeds/ --db ev.gpkg     store articles, places, events (GeoPackage)
    marsad map --db ev.gpkg --offline     the layered map as one HTML file
    marsad export --format csv -o ev.csv  events for QGIS, ArcGIS or a spreadsheet
    marsad query --region الجفرة          events by district, city, bbox, radius or polygon
    marsad control --as-of 2019-04-06     who holds which place, with the evidence
    """


# -- parse --------------------------------------------------------------------------------------
@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "table", "geojson"]),
              default="jsonl", show_default=True,
              help="geojson: one Point feature per place mention (RFC 7946).")
@click.option("--gazetteer", "gaz_path", metavar="FILE", help="Gazetteer JSONL to use instead of "
              "the embedded one.")
@click.option("-q", "--quiet", is_flag=True, help="No warnings about skipped files.")
@click.option("--date", "default_date", metavar="YYYY-MM-DD",
              callback=lambda ctx, param, value: _check_date(value),
              help="Publication date for articles whose metadata gives none.")
def parse(paths, fmt, gaz_path, quiet, default_date):
    """Find and resolve the places named in articles.

    PATHS are files (.txt, .json, .jsonl, .html) or folders. Prints one JSON object per article
    with its places (offsets into the article text) and events:

    \b
        marsad parse seeds/001_232d954a2293e5b2.txt
        marsad parse seeds/ --format table

    Files that cannot be read (empty, binary, not text) are skipped with a warning; the exit
    code is 1 only when no article at all could be parsed.
    """
    results = []
    for result in _parse_all(paths, gaz_path, quiet, default_date):
        if fmt == "jsonl":
            click.echo(json.dumps(result, ensure_ascii=False))
        elif fmt == "table":
            _print_table(result)
        else:
            results.append(result)
    if fmt == "geojson":
        from geo.exports import mentions_geojson

        click.echo(json.dumps(mentions_geojson(results), ensure_ascii=False))


def _check_date(value: str | None) -> str | None:
    from geo.dates import parse_published

    if value is not None and (parse_published(value) is None or len(value.strip()) != 10):
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)")
    return value


def _parse_all(paths, gaz_path, quiet, default_date=None):
    """Parse results of every readable article; warnings go to stderr; error if none."""
    from geo.articles import Skipped, read_articles
    from geo.pipeline import parse_article

    gaz = _gazetteer(gaz_path)
    parsed = skipped = 0
    for item in read_articles(list(paths)):
        if isinstance(item, Skipped):
            skipped += 1
            if not quiet:
                _warn(f"skipped {item.doc}: {item.reason}")
            continue
        if not quiet:
            for w in item.warnings:
                _warn(f"{item.doc}: {w}")
        if not item.published and default_date:
            item.published = default_date
        parsed += 1
        yield parse_article(item, gaz)
    if not parsed:
        raise click.ClickException(f"no article could be parsed ({skipped} skipped)")


@main.command()
@click.argument("paths", nargs=-1)
@click.option("-o", "--out", "out_dir", default="out", show_default=True,
              type=click.Path(file_okay=False), help="Folder for the outputs.")
@click.pass_context
def demo(ctx, paths, out_dir):
    """The main job on the seed articles (or PATHS): the event store events.gpkg, the layered
    map map.html (works offline), events.geojson, and the places found (places.jsonl,
    places.geojson, places_map.html).

    \b
        marsad demo                 # seeds/ -> out/
        marsad demo my_articles/ -o my_out
    """
    from geo.exports import mentions_geojson
    from geo.ingest import ingest as ingest_paths
    from maps.places import places_map

    paths = paths or ("seeds",)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = list(_parse_all(paths, None, False))
    with open(out / "places.jsonl", "w", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    geo = mentions_geojson(results)
    (out / "places.geojson").write_text(json.dumps(geo, ensure_ascii=False), encoding="utf-8")
    places_map(geo).save(str(out / "places_map.html"))
    db = out / "events.gpkg"
    summary = ingest_paths(list(paths), db, _gazetteer(None))
    ctx.invoke(map_, db_path=str(db), out=str(out / "map.html"), offline=True)
    ctx.invoke(export, db_path=str(db), fmt="geojson", out=str(out / "events.geojson"))
    n = len(geo["features"])
    click.echo(f"{len(results)} articles, {n} place mentions, "
               f"{summary.totals.get('events', 0)} events -> {out}/events.gpkg, {out}/map.html, "
               f"{out}/events.geojson, {out}/places.jsonl, {out}/places.geojson, "
               f"{out}/places_map.html")


def _print_table(result: dict) -> None:
    click.echo(f"== {result['doc']}  ({len(result['places'])} places)")
    for p in result["places"]:
        click.echo(f"  {p['start']:>6}-{p['end']:<6} {p['text']:<24} {p['name_en']:<28} "
                   f"{p['kind']:<13} {p['lat']:>9.4f} {p['lon']:>9.4f} "
                   f"{p['district'] or '-':<6} {p['score']:.2f}")


# -- gazetteer ------------------------------------------------------------------------------------
@main.group()
def gazetteer():
    """Look up places and extend the gazetteer."""


@gazetteer.command()
@click.argument("name")
@click.option("--limit", default=5, show_default=True)
@click.option("--min-score", default=80.0, show_default=True, help="0-100 name similarity.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--gazetteer", "gaz_path", metavar="FILE")
def lookup(name, limit, min_score, fmt, gaz_path):
    """Ranked candidates for a place NAME in Arabic or Latin script (fuzzy).

    \b
        marsad gazetteer lookup "طرابس"
        marsad gazetteer lookup Jufrah --format json
    """
    gaz = _gazetteer(gaz_path)
    cands = gaz.lookup(name, limit=limit, min_score=min_score)
    if not cands:
        raise click.ClickException(f"no place matches {name!r}")
    if fmt == "json":
        click.echo(json.dumps([{**c.place.to_dict(), "score": round(c.score, 1)} for c in cands],
                              ensure_ascii=False, indent=1))
        return
    for c in cands:
        p = c.place
        click.echo(f"{c.score:5.1f}  {p.id:<22} {p.name_ar:<18} {p.name_en:<26} {p.kind:<13} "
                   f"{p.lat:8.4f} {p.lon:8.4f} {p.district or '-':<6}"
                   f"{'' if p.in_libya else ' (abroad)'}")


@gazetteer.command()
@click.option("--gazetteer", "gaz_path", metavar="FILE")
def info(gaz_path):
    """Counts of gazetteer records by kind, and where the user gazetteer lives."""
    from collections import Counter

    from gazetteer.load import user_gazetteer_path

    gaz = _gazetteer(gaz_path)
    counts = Counter(p.kind for p in gaz.places)
    for kind, n in sorted(counts.items()):
        click.echo(f"{kind:<14}{n:>7}")
    click.echo(f"{'total':<14}{len(gaz):>7}")
    click.echo(f"user gazetteer: {user_gazetteer_path()}")


@gazetteer.group(name="import")
def import_():
    """Import external gazetteers into the user gazetteer."""


@import_.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--alternate-names", type=click.Path(exists=True, dir_okay=False),
              help="GeoNames alternateNamesV2.txt (or .zip) for Arabic names.")
@click.option("--country", default="LY", show_default=True,
              help="Keep rows of this country code; '' keeps every country (places outside "
                   "Libya are marked in_libya=false).")
def geonames(file, alternate_names, country):
    """Load a GeoNames dump (LY.txt or LY.zip) into the user gazetteer.

    \b
        marsad gazetteer import geonames LY.zip --alternate-names alternateNamesV2.zip

    Populated places, airports, ports, oil fields, military bases and similar features are
    kept; records with the same id replace earlier imports.
    """
    from gazetteer.geonames import GeoNamesError, import_geonames

    try:
        n, path = import_geonames(Path(file), Path(alternate_names) if alternate_names else None,
                                  country=country)
    except GeoNamesError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"imported {n} places into {path}")


# == event store: ingest, events (geo/store.py, geo/ingest.py) ====================================
_DB_HELP = ("Event store: a GeoPackage file or a postgresql:// URL (PostGIS).  "
            "[default: $MARSAD_DB, else ./events.gpkg]")


def _db(db_path: str | None) -> Path | str:
    """The store: a GeoPackage path, or a postgresql:// URL kept as it is."""
    from geo.store import default_db_path, is_url

    if db_path:
        return db_path if is_url(db_path) else Path(db_path)
    return default_db_path()


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--db", "db_path", metavar="FILE|URL", help=_DB_HELP)
@click.option("--reprocess", is_flag=True, help="Process every stored article again from its "
              "stored text (articles of an older pipeline version always are).")
@click.option("--gazetteer", "gaz_path", metavar="FILE", help="Gazetteer JSONL to use instead of "
              "the embedded one.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local",
              show_default=True, help="dask: parse on a Dask cluster (pip install "
              "'marsad[dask]'); this process writes the store.")
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786 "
              "(--engine dask; default: a local cluster, one worker process per core).")
@click.option("--partitions", type=click.IntRange(min=1), metavar="N",
              help="Partitions to ship (--engine dask; default: 4 per worker thread, at most "
              "500 articles each).")
def ingest(paths, db_path, reprocess, gaz_path, quiet, engine, scheduler, partitions):
    """Store the places, events and control records of articles in a GeoPackage.

    PATHS are files (.txt, .json, .jsonl with {text, url, published, source, title}) or
    folders. The store opens in QGIS (layers events, mentions, control; table articles):

    \b
        marsad ingest seeds/                      # -> ./events.gpkg
        marsad ingest news.jsonl --db libya.gpkg
        marsad ingest --reprocess --db libya.gpkg # after a gazetteer update
        marsad ingest big/ --engine dask          # parse on all cores (Dask)
        marsad ingest big/ --engine dask --scheduler tcp://host:8786

    Ingesting an article again changes nothing (articles are keyed by a hash of their text);
    each article is written in its own transaction (with --engine dask in its own savepoint,
    committed with its partition), so an interrupted ingest resumes by running the same command
    again. Unreadable files are skipped and listed in the summary.
    """

    from geo.dask_engine import EngineError
    from geo.ingest import ingest as ingest_articles
    from geo.store import StoreError, database_errors

    if not paths and not reprocess:
        raise click.UsageError("give files or folders to ingest (or --reprocess)")
    if engine != "dask" and (scheduler or partitions):
        raise click.UsageError("--scheduler and --partitions go with --engine dask")
    db = _db(db_path)
    gaz = _gazetteer(gaz_path)
    progress = not quiet and sys.stderr.isatty()
    try:
        summary = ingest_articles(list(paths), db, gaz, reprocess=reprocess, progress=progress,
                                  engine=engine, scheduler=scheduler, partitions=partitions,
                                  gazetteer_path=gaz_path)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    except database_errors() as exc:
        raise click.ClickException(f"{db}: {exc} (the store keeps every article committed "
                                   "before the error)") from None
    except EngineError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{db}:")
    for line in summary.lines():
        click.echo(f"  {line}")
    if summary.failed:
        raise click.ClickException(f"{len(summary.failed)} article(s) could not be processed "
                                   "(listed above); the store is unchanged for them")
    read = summary.new + summary.unchanged + summary.reprocessed
    if paths and not read and summary.skipped:
        raise click.ClickException(f"no article could be read ({len(summary.skipped)} skipped)")


@main.command()
@click.option("--db", "db_path", metavar="FILE|URL", help=_DB_HELP)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]),
              default="table", show_default=True,
              help="Actors are ';'-joined in table and csv, a JSON array in json and jsonl.")
@click.option("--limit", type=click.IntRange(min=0), help="At most this many events.")
def events(db_path, fmt, limit):
    """List the stored events, one row per report, ordered by date.

    \b
        marsad events
        marsad events --db libya.gpkg --format csv > events.csv
        marsad events --format jsonl | jq 'select(.family == "remote")'

    Reports of one incident by several articles share an incident_id.
    """

    from geo.store import LISTING_COLUMNS, StoreError, database_errors, open_store

    try:
        with open_store(_db(db_path), create=False) as store:
            rows = store.events(limit=limit)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    except database_errors() as exc:
        raise click.ClickException(f"cannot read {_db(db_path)}: {exc}") from None
    if not _emit_rows(rows, LISTING_COLUMNS, fmt):
        _print_events_table(rows, LISTING_COLUMNS)


def _flat(column: str, value) -> str:
    return ";".join(value) if column == "actors" else str(value)


def _emit_rows(rows: list[dict], columns: list[str], fmt: str) -> bool:
    """Print rows as json, jsonl or csv (actors `;`-joined in csv); False for other formats."""
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
    elif fmt == "jsonl":
        for r in rows:
            click.echo(json.dumps(r, ensure_ascii=False))
    elif fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow(["" if r[c] is None else _flat(c, r[c]) for c in columns])
        click.echo(buf.getvalue(), nl=False)
    else:
        return False
    return True


def _print_events_table(rows: list[dict], columns: list[str]) -> None:
    """Aligned columns; long text is cut (the full rows are in --format csv/json)."""
    widest = {"sentence": 60, "url": 30, "doc": 30}
    cells = [[("-" if r[c] is None or r[c] == [] else _flat(c, r[c])).replace("\n", " ")
              for c in columns] for r in rows]
    cells = [[v if len(v) <= widest.get(c, 24) else v[:widest.get(c, 24) - 1] + "…"
              for c, v in zip(columns, row)] for row in cells]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    click.echo(f"({len(rows)} events)")


@main.command()
@click.option("--db", "db_path", metavar="FILE|URL", help=_DB_HELP)
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD",
              callback=lambda ctx, param, value: _check_date(value),
              help="Control on this date (default: the latest evidence).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def control(db_path, as_of, fmt):
    """Which faction holds which place, with the evidence (event ids, control statements).

    \b
        marsad control --db events.gpkg
        marsad control --as-of 2019-04-04 --format json
    """
    from datetime import date

    from geo.control import control_as_of, evidence_from
    from geo.store import StoreError, database_errors, open_store

    try:
        with open_store(_db(db_path), create=False) as store:
            events, records = store.control_evidence()
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    except database_errors() as exc:
        raise click.ClickException(f"cannot read {_db(db_path)}: {exc}") from None
    names = {r["place_id"]: r["place_en"] for r in [*events, *records]}
    held = control_as_of(evidence_from(events, records),
                         date.fromisoformat(as_of) if as_of else None)
    rows = [{"place_id": h.place_id, "place_en": names.get(h.place_id), "faction": h.faction,
             "since": h.since.isoformat(), "evidence": h.evidence}
            for h in sorted(held.values(), key=lambda h: (names.get(h.place_id) or "", h.since))]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for r in rows:
        click.echo(f"{(r['place_en'] or r['place_id']):<32} {r['faction']:<14} since {r['since']}"
                   f"  ({len(r['evidence'])} evidence: {', '.join(r['evidence'][:3])})")
    click.echo(f"({len(rows)} places)")


# -- export (geo/exports.py) --------------------------------------------------------------------
@main.command()
@click.option("--db", "db_path", metavar="FILE|URL", help=_DB_HELP)
@click.option("--format", "fmt", type=click.Choice(["geojson", "gpkg", "csv"]), required=True,
              help="geojson: RFC 7946; gpkg: layers events, places, control, districts; "
                   "csv: ACLED-like columns.")
@click.option("-o", "--output", "out", metavar="FILE", type=click.Path(dir_okay=False),
              help="Output file (required for gpkg; geojson and csv go to stdout without it).")
@click.option("--force", is_flag=True, help="Overwrite an existing GeoPackage.")
@click.option("--since", metavar="YYYY-MM-DD", callback=lambda c, p, v: _check_date(v),
              help="Events on or after this date.")
@click.option("--until", metavar="YYYY-MM-DD", callback=lambda c, p, v: _check_date(v),
              help="Events on or before this date.")
@click.option("--type", "types", multiple=True, metavar="TYPE", help="Event type (repeatable).")
@click.option("--family", "families", multiple=True, metavar="F",
              help="Event family: fight, remote, control, civilians, protest, mobilization.")
@click.option("--faction", "factions", multiple=True, metavar="ID",
              help="Events with this faction among the actors (repeatable).")
@click.option("--region", "regions", multiple=True, metavar="NAME",
              help="District by ISO code (LY-TB) or English/Arabic name (repeatable).")
@click.option("--min-confidence", type=click.FloatRange(0, 1), metavar="X")
@click.option("--incidents", "by_incident", is_flag=True,
              help="One row per incident (its most confident report, with reports and sources).")
def export(db_path, fmt, out, force, since, until, types, families, factions, regions,
           min_confidence, by_incident):
    """Export stored events for QGIS/ArcGIS or spreadsheets.

    \b
        marsad export --format geojson > events.geojson
        marsad export --format gpkg -o libya.gpkg --region "Al Jufra" --since 2019-04-01
        marsad export --format csv --family remote --faction LNA --incidents -o strikes.csv
    """

    from geo import exports as ex
    from geo.store import StoreError, database_errors

    if fmt == "gpkg" and not out:
        raise click.UsageError("--format gpkg needs -o FILE (a GeoPackage cannot go to stdout)")
    try:
        filters = ex.make_filters(since=since, until=until, types=types, families=families,
                                  factions=factions, regions=regions,
                                  min_confidence=min_confidence)
    except ex.ExportError as exc:
        raise click.UsageError(str(exc)) from None
    db = _db(db_path)
    try:
        gdf = ex.load_events(db, filters)
        gdf = ex.incidents(gdf) if by_incident else gdf
        if fmt == "gpkg":
            counts = ex.write_gpkg(out, gdf, db, filters, force=force)
            click.echo(f"{out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
            return
        text = ex.geojson_text(gdf) + "\n" if fmt == "geojson" else ex.to_acled_csv(gdf)
        if out:
            Path(out).write_text(text, encoding="utf-8")
            click.echo(f"{out}: {len(gdf)} {'incidents' if by_incident else 'events'}", err=True)
        else:
            click.echo(text, nl=False)
    except (StoreError, ex.ExportError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    except database_errors() as exc:
        raise click.ClickException(f"cannot read {db}: {exc}") from None


# -- map (maps/build.py, maps/layers.py) ----------------------------------------------------------
@main.command(name="map")
@click.option("--db", "db_path", metavar="FILE|URL", help=_DB_HELP)
@click.option("-o", "--output", "out", default="map.html", show_default=True,
              type=click.Path(dir_okay=False), help="HTML file to write.")
@click.option("--offline", is_flag=True, help="Inline every script and stylesheet and start on "
              "the vector basemap, so the map works without a network.")
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", callback=lambda c, p, v: _check_date(v),
              help="Control layer on this date (default: --until, else the latest evidence).")
@click.option("--since", metavar="YYYY-MM-DD", callback=lambda c, p, v: _check_date(v),
              help="Events on or after this date.")
@click.option("--until", metavar="YYYY-MM-DD", callback=lambda c, p, v: _check_date(v),
              help="Events on or before this date.")
@click.option("--faction", metavar="ID", help="Events with this faction among the actors "
              "(or holding the place afterwards), e.g. LNA.")
@click.option("--type", "event_type", metavar="TYPE", help="Event type, e.g. airstrike.")
@click.option("--region", metavar="ISO", help="District by ISO code (LY-BA) or English/Arabic "
              "name; narrows events and control places.")
def map_(db_path, out, offline, as_of, since, until, faction, event_type, region):
    """Write a layered HTML map of the stored events.

    \b
        marsad map                                   # ./events.gpkg -> map.html
        marsad map --db libya.gpkg --since 2019-04-01 --type airstrike -o strikes.html
        marsad map --region LY-BA --as-of 2017-03-20 --offline -o benghazi.html

    Layers (toggle them top right): base maps OpenStreetMap, CartoDB Positron, Esri satellite
    imagery and a vector map of Libya that needs no tiles; events by type (clustered when
    dense); control of places by faction; events per district; a heat map; a time slider.
    With no matching events the map is still written, with a note, and the exit code is 0.
    """
    from datetime import date

    from geo.control import control_as_of, evidence_from
    from geo.events import FAMILY
    from geo.factions import load_factions
    from geo.store import StoreError, database_errors, open_store
    from maps.build import (build_map, control_places, filter_events, load_districts,
                            main_towns, render_html)

    factions = load_factions()
    if faction and factions.get(faction) is None:
        raise click.BadParameter(f"unknown faction {faction!r} (ids as in "
                                 "geo/data/factions.json, e.g. LNA, GNA)", param_hint="--faction")
    if event_type and event_type not in FAMILY:
        raise click.BadParameter(f"unknown event type {event_type!r}; one of "
                                 f"{', '.join(FAMILY)}", param_hint="--type")
    districts = load_districts()
    iso = None
    if region:
        wanted = region.strip().casefold()
        iso = next((f["properties"]["iso_code"] for f in districts["features"]
                    if wanted in {str(f["properties"].get(k) or "").casefold()
                                  for k in ("iso_code", "name_en", "name_ar")}), None)
        if iso is None:
            raise click.BadParameter(f"unknown district {region!r} (ISO code such as LY-BA, or "
                                     "its English or Arabic name)", param_hint="--region")
    offline_html = None
    if offline:
        try:
            from maps.offline import make_offline as offline_html
        except Exception as exc:  # noqa: BLE001 - any import failure means no bundling
            raise click.ClickException(f"offline bundling is not available: {exc}") from None
    db = _db(db_path)
    try:
        with open_store(db, create=False) as store:
            rows = store.events()
            evidence_events, records = store.control_evidence()
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    except database_errors() as exc:
        raise click.ClickException(f"cannot read {db}: {exc}") from None
    chosen = filter_events(rows, since=since, until=until, faction=faction,
                           event_type=event_type, region=iso)
    when = as_of or until
    held = control_as_of(evidence_from(evidence_events, records),
                         date.fromisoformat(when) if when else None)
    gaz = _gazetteer(None)
    places = control_places(held, gaz, region=iso)
    names = {f.id: f.name_en for f in factions}
    note = None if chosen else "No events match the filters"
    fmap = build_map(chosen, places, districts, offline=offline, towns=main_towns(gaz),
                     faction_names=names, as_of=when, note=note)
    page = render_html(fmap)
    if offline_html is not None:
        try:
            page = offline_html(page)
        except Exception as exc:  # noqa: BLE001 - one clear line, not a traceback
            raise click.ClickException(f"offline bundling failed: {exc}") from None
    try:
        Path(out).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc}") from None
    if not chosen:
        click.echo(f"warning: no events match the filters ({len(rows)} in {db}); "
                   f"wrote a map without events to {out}", err=True)
    click.echo(f"{out}: {len(chosen)} events, {len(places)} controlled places"
               + (" (offline)" if offline else ""))
# -- query (geo/query.py) ------------------------------------------------------------------------
class _QueryUsageError(click.ClickException):
    """A malformed or unanswerable query: one line on stderr, exit code 2."""
    exit_code = 2


@main.command()
@click.option("--db", "db_path", metavar="FILE|URL", help=_DB_HELP)
@click.option("--region", metavar="NAME", help="District (ISO code, English or Arabic name, "
              "fuzzy), historical region (Fezzan) or city.")
@click.option("--region-kind", type=click.Choice(["district", "city"]),
              help="For a name that is both (Tripoli, Sabha): which one. [default: district]")
@click.option("--bbox", metavar="W,S,E,N", help="Bounding box in degrees (edges included).")
@click.option("--near", metavar="PLACE", help="Gazetteer place (or LAT,LON) for --km.")
@click.option("--km", type=float, metavar="N", help="Radius around --near, geodesic on WGS84.")
@click.option("--within", metavar="FILE", help="Polygon file (GeoJSON, GeoPackage, Shapefile).")
@click.option("--regions", "regions_file", metavar="FILE", help="District boundaries to use "
              "instead of the gazetteer's (OCHA, geoBoundaries, GADM; any format geopandas "
              "reads); names map to ISO codes through gazetteer/data/region_aliases.csv.")
@click.option("--name-field", metavar="FIELD", help="Field of --regions holding the names.")
@click.option("--faction", "factions", multiple=True, metavar="ID",
              help="Events with this faction among the actors (repeatable).")
@click.option("--type", "types", multiple=True, metavar="TYPE",
              help="Event type or family, e.g. airstrike, fight (repeatable).")
@click.option("--since", metavar="DATE", help="On or after (YYYY-MM-DD, YYYY-MM or YYYY).")
@click.option("--until", metavar="DATE", help="On or before (YYYY-MM-DD, YYYY-MM or YYYY).")
@click.option("--min-confidence", type=float, metavar="X", help="0-1.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv", "geojson"]),
              default="table", show_default=True)
@click.option("--count", "count_only", is_flag=True, help="Print only the number of events.")
@click.option("--rejoin", is_flag=True, help="Recompute every stored event's district by "
              "spatial join with --regions (or the gazetteer's districts), in one transaction, "
              "and report the changes.")
@click.option("--dry-run", is_flag=True, help="With --rejoin: report, change nothing.")
def query(db_path, region, region_kind, bbox, near, km, within, regions_file, name_field,
          factions, types, since, until, min_confidence, fmt, count_only, rejoin, dry_run):
    """Events by place: in a district, city, bbox or polygon, or within N km of a place.

    \b
        marsad query --region الجفرة --since 2019-04
        marsad query --near Derna --km 30 --faction LNA --type airstrike
        marsad query --within south_tripoli.geojson --type armed_clash --format geojson
        marsad query --bbox 12.9,32.4,13.4,32.8 --count
        marsad query --region Tripoli --region-kind city      # the city and places in it
        marsad query --region Tobruk --regions lby_adm2.shp --name-field ADM2_EN
        marsad query --rejoin --regions lby_adm2.shp --name-field ADM2_EN

    Points on a border or edge count as inside. Events known only at district or region
    precision are included when their whole area lies inside the query area, flagged in the
    column area_only. Malformed bbox, dates or polygon files and unknown names: exit code 2.
    """

    from geo import query as gq
    from geo.store import StoreError, database_errors

    db = _db(db_path)
    try:
        regions = gq.load_regions(regions_file, name_field)
        if regions.unmapped:
            _warn(f"{regions_file}: no ISO code for {', '.join(regions.unmapped)} (add them to "
                  "gazetteer/data/region_aliases.csv); their own names are used")
        gaz = _gazetteer(None)
        if rejoin:
            if any(x is not None for x in (region, bbox, near, within)):
                raise gq.QueryError("--rejoin recomputes every event's district; it takes no "
                                    "--region, --bbox, --near or --within")
            res = gq.rejoin_districts(db, regions, gaz=gaz, dry_run=dry_run)
            for c in res.changed:
                click.echo(f"{c['id']}  {c['old'] or '-'} -> {c['new'] or '-'}")
            click.echo(f"{db}: {len(res.changed)} of {res.events} events "
                       f"{'would change' if dry_run else 'changed'} district ({res.regions})")
            return
        area = gq._resolve_area(region, bbox, near, km, within, gaz, regions, region_kind)
        filters = gq.make_filters(factions=factions, types=types, since=since, until=until,
                                  min_confidence=min_confidence)
        if area.note:
            click.echo(f"note: {area.note}", err=True)
        result = gq.run_query(db, area, filters, gaz=gaz, regions=regions,
                              count_only=count_only)
    except gq.QueryError as exc:
        raise _QueryUsageError(str(exc)) from None
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    except database_errors() as exc:
        raise click.ClickException(f"cannot read {db}: {exc}") from None
    if count_only:
        click.echo(result)
        return
    if fmt == "geojson":
        click.echo(json.dumps(gq.to_geojson(result), ensure_ascii=False))
        return
    rows = gq.records(result)
    if not _emit_rows(rows, gq.QUERY_COLUMNS, fmt):
        click.echo(f"{area.label}", err=True)
        _print_events_table(rows, ["id", "type", "date", "place_en", "district",
                                   "geo_precision", "area_only", "actors", "confidence",
                                   "sentence"])


@main.command(name="regions")
@click.option("--regions", "regions_file", metavar="FILE", help="Boundary file to check "
              "(default: the gazetteer's 22 districts).")
@click.option("--name-field", metavar="FIELD", help="Field of FILE holding the names.")
def regions_(regions_file, name_field):
    """The regions `marsad query` uses, with the ISO code each name maps to.

    \b
        marsad regions
        marsad regions --regions lby_admbnda_adm2.shp --name-field ADM2_EN
    """
    from geo import query as gq

    try:
        regions = gq.load_regions(regions_file, name_field)
    except gq.QueryError as exc:
        raise _QueryUsageError(str(exc)) from None
    for code, name in sorted(zip(regions.gdf["code"], regions.gdf["name"])):
        flag = "  (no ISO code: add it to gazetteer/data/region_aliases.csv)" \
            if name in regions.unmapped else ""
        click.echo(f"{code:<8} {name}{flag}")
    click.echo(f"({len(regions.gdf)} regions from {regions.source})")


# == end of event store section ====================================================================


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
