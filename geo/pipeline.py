"""The per-article pipeline: text -> places -> events and control records.

`parse_article` is a plain function over plain data so that other engines (a Dask or Spark job)
can call it directly.
"""

from __future__ import annotations

from functools import lru_cache

from gazetteer.index import Gazetteer
from geo.articles import Article
from geo.dates import parse_published
from geo.events import EventExtractor
from geo.resolve import Resolver
from geo.text import tokenize

# Bump when the gazetteer or a rule changes what an article yields: stored articles of an older
# version are processed again by `marsad ingest`.
PIPELINE_VERSION = "1"


@lru_cache(maxsize=4)
def _resolver(gazetteer: Gazetteer) -> Resolver:
    return Resolver(gazetteer)


@lru_cache(maxsize=1)
def _extractor() -> EventExtractor:
    try:
        from geo.factions import load_factions
    except ImportError:  # the factions lexicon is optional for place-only use
        return EventExtractor(None)
    return EventExtractor(load_factions())


def parse_article(article: Article, gazetteer: Gazetteer) -> dict:
    """The `marsad parse` JSON object of one article (see DESIGN.md for the contract)."""
    tokens = tokenize(article.text)  # shared by places, actors and events
    mentions = _resolver(gazetteer).resolve(article.text, tokens)
    published = parse_published(article.published)
    found = _extractor().extract(article.text, mentions, published, tokens)
    return {"doc": article.doc, "published": article.published,
            "places": [m.to_json() for m in mentions],
            "events": [e.to_json() for e in found.events],
            "control": [c.to_json() for c in found.control]}


# -- for other engines (Dask, Spark): one article in, plain data out -------------------------------
def as_article(article: Article | dict) -> Article:
    """An `Article` from an `Article` or a dict with the fields of JSON input
    (`{text, url, published, source, title}`, and `doc`, the name it is reported under)."""
    if isinstance(article, Article):
        return article
    if not isinstance(article, dict):
        raise TypeError(f"an article is an Article or a dict, not {type(article).__name__}")
    text = article.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the article has no 'text'")
    return Article(str(article.get("doc") or article.get("url") or ""), text,
                   url=article.get("url"), published=article.get("published"),
                   source=article.get("source"), title=article.get("title"))


def default_gazetteer(path: str | None = None) -> Gazetteer:
    """The gazetteer `marsad` uses (the embedded one and the user's, or the JSONL at `path`
    and the user's), loaded once per process (`load_gazetteer` caches it)."""
    from pathlib import Path

    from gazetteer.load import load_gazetteer

    return load_gazetteer(Path(path) if path else None)


def process_article(article: Article | dict, gazetteer: Gazetteer | str | None = None) -> dict:
    """One article through the pipeline, for your own Dask bag or Spark `mapPartitions` job.

    A plain top-level function (pickled by reference), plain data in and out: `article` is an
    `Article` or a dict (see `as_article`); `gazetteer` a `Gazetteer`, the path of a gazetteer
    JSONL, or None for the default one, loaded lazily once per process. Returns
    `{"id": content hash of the text (the store's article key), "pipeline_version": ...,
    "parsed": the marsad parse object}`; raises what the pipeline raises."""
    from geo.events import content_hash

    art = as_article(article)
    gaz = gazetteer if isinstance(gazetteer, Gazetteer) else default_gazetteer(gazetteer)
    return {"id": content_hash(art.text), "pipeline_version": str(PIPELINE_VERSION),
            "parsed": parse_article(art, gaz)}
