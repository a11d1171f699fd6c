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
