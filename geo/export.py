"""Place mentions as GeoJSON (RFC 7946): one Point feature per resolved mention."""

from __future__ import annotations


def mentions_geojson(results: list[dict]) -> dict:
    """A FeatureCollection of the places of `marsad parse` results, [lon, lat], 6 decimals."""
    features = []
    for res in results:
        for p in res["places"]:
            props = {k: p[k] for k in ("id", "name_ar", "name_en", "kind", "district", "in_libya",
                                       "precision", "score", "text", "start", "end") if k in p}
            props["doc"] = res["doc"]
            props["published"] = res.get("published")
            features.append({
                "type": "Feature",
                "geometry": {"type": "Point",
                             "coordinates": [round(p["lon"], 6), round(p["lat"], 6)]},
                "properties": props,
            })
    return {"type": "FeatureCollection", "features": features}
