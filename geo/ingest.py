"""Ingest articles into the event store: read -> parse -> store, one transaction per article.

Idempotent: an article is keyed by the content hash of its text, so ingesting it again changes
nothing. Articles stored by another pipeline version are processed again from their stored
text at the start of every ingest, their records replaced in one transaction. A file that
cannot be read, or an article the pipeline fails on, is skipped with its reason and leaves the
store as it was.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from geo import store as store_mod
from geo.articles import Article, Skipped, expand_paths, read_file
from geo.events import content_hash
from geo.store import StoredArticle, StoreError, open_store


def current_pipeline_version() -> str:
    """`geo.pipeline.PIPELINE_VERSION` when the pipeline declares one, else the store's."""
    import geo.pipeline

    return str(getattr(geo.pipeline, "PIPELINE_VERSION", store_mod.PIPELINE_VERSION))


@dataclass
class IngestSummary:
    new: int = 0
    unchanged: int = 0
    reprocessed: int = 0
    events_added: int = 0
    events_removed: int = 0
    control_added: int = 0
    mentions_added: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[Skipped] = field(default_factory=list)  # articles the pipeline failed on
    totals: dict[str, int] = field(default_factory=dict)
    engine: str = "local"
    partitions: int = 0  # dask: partitions shipped
    workers: dict[str, int] = field(default_factory=dict)  # dask: articles parsed per worker
    timings: dict[str, float] = field(default_factory=dict)  # dask: seconds per phase

    def lines(self) -> list[str]:
        t = self.totals
        out = [f"articles: {self.new} new, {self.unchanged} unchanged, "
               f"{self.reprocessed} reprocessed",
               f"events: {self.events_added} written, {self.events_removed} replaced"
               + (f" ({t['events']} in store)" if "events" in t else ""),
               f"control records: {self.control_added} written"
               + (f" ({t['control']} in store)" if "control" in t else ""),
               f"place mentions: {self.mentions_added} written"]
        if self.skipped or self.failed:
            out.append(f"skipped: {len(self.skipped) + len(self.failed)}")
            out += [f"  {s.doc}: {s.reason}" for s in self.skipped + self.failed]
        if self.engine == "dask":
            out += self._dask_lines()
        return out

    def _dask_lines(self) -> list[str]:
        t = self.timings
        if not self.partitions:
            return [f"dask: nothing to parse (read {t.get('read', 0):.1f} s)"]
        out = [f"dask: {self.partitions} partitions on {len(self.workers)} workers"]
        out += [f"  {w}: {n} articles" for w, n in sorted(self.workers.items())]
        out.append(f"time: read {t['read']:.1f} s, cluster start {t['startup']:.1f} s, "
                   f"parse on cluster and write {t['cluster']:.1f} s (worker time "
                   f"{t['worker']:.1f} s, writing {t['write']:.1f} s)")
        return out


def _as_article(stored: StoredArticle) -> Article:
    return Article(stored.doc or stored.id, stored.text, url=stored.url,
                   published=stored.published, source=stored.source, title=stored.title)


def prepare(parsed: dict, gazetteer, regions=None) -> dict:
    """The pipeline output as it is stored: every event's district by spatial join with the
    regions (the gazetteer's districts by default; a point on a border keeps the gazetteer's
    district of the two)."""
    from geo.regions import assign_districts, load_regions

    assign_districts(parsed.get("events", []), regions or load_regions(), gazetteer)
    return parsed


class Ingester:
    """Feeds articles through `parse_article` into one store (`geo.store.open_store`)."""

    def __init__(self, store, gazetteer, *, version: str | None = None, regions=None):
        self.store = store
        self.gazetteer = gazetteer
        self.version = version or current_pipeline_version()
        self.summary = IngestSummary()
        self.regions = regions  # district polygons (geo.regions); the gazetteer's by default

    def prepare(self, parsed: dict) -> dict:
        """`prepare(parsed, ...)` with this ingest's gazetteer and regions."""
        return prepare(parsed, self.gazetteer, self.regions)

    def add(self, article: Article, *, force: bool = False) -> str:
        """Store one article; its status: new | reprocessed | unchanged | failed."""
        from geo.pipeline import parse_article

        article_id = content_hash(article.text)
        stored = self.store.article_version(article_id)
        if stored == self.version and not force:
            self.summary.unchanged += 1
            return "unchanged"
        try:
            parsed = parse_article(article, self.gazetteer)
        except Exception as exc:  # noqa: BLE001 -- a pipeline bug must not stop the batch
            return self.fail(article, f"{type(exc).__name__}: {exc}")
        return self.write(article_id, article, parsed, force=force)

    def fail(self, article: Article, reason: str) -> str:
        """Record an article the pipeline failed on (it leaves the store as it was)."""
        self.summary.failed.append(Skipped(article.doc, f"error while processing: {reason}"))
        return "failed"

    def write(self, article_id: str, article: Article, parsed: dict, *, force: bool = False,
              prepared: bool = False) -> str:
        """Store one article's pipeline output (`prepare`d first unless `prepared`) and count
        it; its status: new | reprocessed | unchanged | failed. Both engines write this way."""
        try:
            if not prepared:
                parsed = self.prepare(parsed)
            result = self.store.write_article(article_id, article, parsed, self.version,
                                              replace=force)
        except (StoreError, *store_mod.database_errors()):
            raise  # the store itself is in trouble: stop the batch (it is still consistent)
        except Exception as exc:  # noqa: BLE001 -- one article must not stop the batch
            return self.fail(article, f"{type(exc).__name__}: {exc}")
        s = self.summary
        if result.status == "unchanged":
            s.unchanged += 1
            return "unchanged"
        if result.status == "new":
            s.new += 1
        else:
            s.reprocessed += 1
        s.events_added += result.events
        s.events_removed += result.events_removed
        s.control_added += result.control
        s.mentions_added += result.mentions
        return result.status

    def reprocess_stored(self, *, every: bool = False, progress: bool = False) -> None:
        """Process stored articles again from their stored text: those of another pipeline
        version, or `every` one (after a gazetteer or lexicon change)."""
        todo = self.store.stored_articles(None if every else self.version)
        for stored in tqdm(todo, desc="reprocessing", unit="article", file=sys.stderr,
                           disable=not progress or not todo):
            self.add(_as_article(stored), force=True)

    def ingest_paths(self, paths: list[str | Path], *, progress: bool = False) -> None:
        """Every article of the files and folders in `paths` (a progress bar over files)."""
        files: list[Path] = []
        for p in expand_paths(list(paths)):
            if isinstance(p, Skipped):
                self.summary.skipped.append(p)
            else:
                files.append(p)
        for path in tqdm(files, desc="ingesting", unit="file", file=sys.stderr,
                         disable=not progress):
            for item in read_file(path):
                if isinstance(item, Skipped):
                    self.summary.skipped.append(item)
                else:
                    self.add(item)

    def finish(self) -> IngestSummary:
        self.summary.totals = {t: self.store.count(t) for t in ("articles", "events", "control")}
        return self.summary


def ingest(paths: list[str | Path], db: str | Path, gazetteer, *, reprocess: bool = False,
           progress: bool = False, version: str | None = None, engine: str = "local",
           scheduler: str | None = None, partitions: int | None = None,
           gazetteer_path: str | Path | None = None) -> IngestSummary:
    """Ingest `paths` into the store `db` (a GeoPackage path or a PostGIS URL; created if
    missing).

    Stored articles of another pipeline version are processed again first (from their stored
    text), so the store never mixes versions; `reprocess` processes every stored article again.
    `engine="dask"` parses on a Dask cluster (`scheduler`, else a LocalCluster) in `partitions`
    partitions, its workers loading the gazetteer at `gazetteer_path` (the default one when
    None), which must be the same as `gazetteer` (`geo.dask_engine`)."""
    if engine == "dask":
        from geo.dask_engine import DaskEngine

        with DaskEngine(scheduler, partitions=partitions, gazetteer_path=gazetteer_path) as dask, \
                open_store(db) as store:
            ing = Ingester(store, gazetteer, version=version)
            dask.run(ing, paths, reprocess=reprocess, progress=progress)
            return ing.finish()
    if engine != "local":
        raise ValueError(f"unknown engine {engine!r} (local or dask)")
    with open_store(db) as store:
        ing = Ingester(store, gazetteer, version=version)
        ing.reprocess_stored(every=reprocess, progress=progress)
        ing.ingest_paths(paths, progress=progress)
        return ing.finish()
