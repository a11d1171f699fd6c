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
        return out


def _as_article(stored: StoredArticle) -> Article:
    return Article(stored.doc or stored.id, stored.text, url=stored.url,
                   published=stored.published, source=stored.source, title=stored.title)


class Ingester:
    """Feeds articles through `parse_article` into one store (`geo.store.open_store`)."""

    def __init__(self, store, gazetteer, *, version: str | None = None, regions=None):
        self.store = store
        self.gazetteer = gazetteer
        self.version = version or current_pipeline_version()
        self.summary = IngestSummary()
        self.regions = regions  # district polygons (geo.regions); the gazetteer's by default

    def prepare(self, parsed: dict) -> dict:
        """The pipeline output as it is stored: every event's district by spatial join with
        the regions (a point on a border keeps the gazetteer's district of the two)."""
        from geo.regions import assign_districts, load_regions

        if self.regions is None:
            self.regions = load_regions()
        assign_districts(parsed.get("events", []), self.regions, self.gazetteer)
        return parsed

    def add(self, article: Article, *, force: bool = False) -> str:
        """Store one article; its status: new | reprocessed | unchanged | failed."""
        from geo.pipeline import parse_article

        article_id = content_hash(article.text)
        stored = self.store.article_version(article_id)
        if stored == self.version and not force:
            self.summary.unchanged += 1
            return "unchanged"
        try:
            parsed = self.prepare(parse_article(article, self.gazetteer))
            result = self.store.write_article(article_id, article, parsed, self.version,
                                              replace=force)
        except (StoreError, *store_mod.database_errors()):
            raise  # the store itself is in trouble: stop the batch (it is still consistent)
        except Exception as exc:  # a pipeline bug on one article must not stop the batch
            self.summary.failed.append(
                Skipped(article.doc, f"error while processing: {type(exc).__name__}: {exc}"))
            return "failed"
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
           progress: bool = False, version: str | None = None) -> IngestSummary:
    """Ingest `paths` into the store `db` (a GeoPackage path or a PostGIS URL; created if
    missing).

    Stored articles of another pipeline version are processed again first (from their stored
    text), so the store never mixes versions; `reprocess` processes every stored article again."""
    with open_store(db) as store:
        ing = Ingester(store, gazetteer, version=version)
        ing.reprocess_stored(every=reprocess, progress=progress)
        ing.ingest_paths(paths, progress=progress)
        return ing.finish()
