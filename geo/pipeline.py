"""The per-article pipeline: text -> places (-> events, once that step lands).

`parse_article` is a plain function over plain data so that other engines (a Dask or Spark job)
can call it directly.
"""

from __future__ import annotations

from functools import lru_cache

from gazetteer.index import Gazetteer
from geo.articles import Article
from geo.resolve import Resolver


@lru_cache(maxsize=4)
def _resolver(gazetteer: Gazetteer) -> Resolver:
    return Resolver(gazetteer)


def parse_article(article: Article, gazetteer: Gazetteer) -> dict:
    """The `marsad parse` JSON object of one article (see DESIGN.md for the contract)."""
    mentions = _resolver(gazetteer).resolve(article.text)
    return {"doc": article.doc, "published": article.published,
            "places": [m.to_json() for m in mentions], "events": []}
