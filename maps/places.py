"""A first map: the places named in articles, one marker per place with its mentions.

Article text is data: every piece of it is HTML-escaped before it reaches the page."""

from __future__ import annotations

import html
from collections import defaultdict

import folium


def places_map(geojson: dict) -> folium.Map:
    """Markers for the distinct places of a mentions FeatureCollection, sized by mentions."""
    by_place: dict[str, list[dict]] = defaultdict(list)
    coords: dict[str, tuple[float, float]] = {}
    for f in geojson["features"]:
        props = f["properties"]
        if not props.get("in_libya", True):
            continue
        by_place[props["id"]].append(props)
        lon, lat = f["geometry"]["coordinates"]
        coords[props["id"]] = (lat, lon)
    fmap = folium.Map(location=[27.0, 17.0], zoom_start=5, tiles="OpenStreetMap")
    layer = folium.FeatureGroup(name="Places named in the articles")
    for pid, mentions in by_place.items():
        first = mentions[0]
        docs = sorted({m["doc"] for m in mentions})
        popup = (f"<div dir='auto'><b>{html.escape(first['name_en'])}</b> · "
                 f"<span dir='rtl'>{html.escape(first['name_ar'])}</span><br>"
                 f"{html.escape(first['kind'])} · {html.escape(str(first.get('district') or ''))}"
                 f" · precision {html.escape(str(first.get('precision', '')))}<br>"
                 f"{len(mentions)} mention(s) in {len(docs)} article(s):<br>"
                 + "<br>".join(html.escape(d) for d in docs[:10]) + "</div>")
        folium.CircleMarker(
            location=coords[pid], radius=4 + min(len(mentions), 20) ** 0.5 * 3,
            color="#b2182b", fill=True, fill_opacity=0.6,
            tooltip=html.escape(f"{first['name_en']} ({len(mentions)})"),
            popup=folium.Popup(popup, max_width=320),
        ).add_to(layer)
    layer.add_to(fmap)
    folium.LayerControl().add_to(fmap)
    if coords:
        lats = [c[0] for c in coords.values()]
        lons = [c[1] for c in coords.values()]
        fmap.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]])
    return fmap
