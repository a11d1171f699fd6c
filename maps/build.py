"""The event map: composes the layers of `maps.layers` into one Folium map with a LayerControl.

    events (store rows) --filter_events--> event_layers, district counts, heat, time slider
    control evidence --geo.control--> control_places --> control_layer
    districts.geojson + gazetteer towns --> vector_basemap (the base layer needing no tiles)
"""

from __future__ import annotations

import re

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

import folium
from branca.element import Element

from maps import layers

DISTRICTS_PATH = Path(__file__).resolve().parent.parent / "gazetteer" / "data" / "districts.geojson"
LIBYA_BOUNDS = [[19.4, 9.2], [34.0, 25.3]]  # [[south, west], [north, east]]
MAX_ZOOM = 18

POSITRON_URL = "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png"
POSITRON_ATTR = ('&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
                 'contributors &copy; <a href="https://carto.com/attributions">CARTO</a>')
SATELLITE_URL = ("https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/"
                 "tile/{z}/{y}/{x}")
SATELLITE_ATTR = ("Tiles &copy; Esri &mdash; Source: Esri, Maxar, Earthstar Geographics, "
                  "and the GIS User Community")


def load_districts(path: str | Path = DISTRICTS_PATH) -> dict:
    """The district polygons (iso_code, name_en, name_ar) as a GeoJSON FeatureCollection."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def main_towns(gazetteer, min_importance: int = layers.TOWN_MIN_IMPORTANCE) -> list[dict]:
    """Libyan cities and towns of at least `min_importance`, for the vector basemap labels."""
    return [{"name_en": p.name_en, "name_ar": p.name_ar, "lat": p.lat, "lon": p.lon}
            for p in gazetteer.places
            if p.in_libya and p.kind in ("city", "town") and p.importance >= min_importance]


def filter_events(events: Iterable[Mapping], *, since: str | None = None,
                  until: str | None = None, faction: str | None = None,
                  event_type: str | None = None, region: str | None = None) -> list[Mapping]:
    """Events on or after `since` and on or before `until` (ISO dates; undated events drop out
    when either is given), with `faction` among the actors or as the controller afterwards,
    of `event_type`, in the district with ISO code `region`."""
    out = []
    for e in events:
        d = e.get("date")
        if (since or until) and not d:
            continue
        if (since and d < since) or (until and d > until):
            continue
        if faction and faction not in (e.get("actors") or []) and \
                e.get("controller_after") != faction:
            continue
        if event_type and e.get("type") != event_type:
            continue
        if region and e.get("district") != region:
            continue
        out.append(e)
    return out


def control_places(holdings: Mapping, gazetteer, *, region: str | None = None) -> list[dict]:
    """`geo.control.control_as_of` holdings as map points, with coordinates and names from the
    gazetteer (places it does not know are left out); only those in district `region` if given."""
    out = []
    for h in holdings.values():
        place = gazetteer.get(h.place_id)
        if place is None or (region and place.district != region):
            continue
        since = h.since.isoformat() if isinstance(h.since, date) else str(h.since)
        out.append({"place_id": h.place_id, "place_en": place.name_en, "place_ar": place.name_ar,
                    "lat": place.lat, "lon": place.lon, "faction": h.faction, "since": since,
                    "evidence": list(h.evidence)})
    return sorted(out, key=lambda r: (r["place_en"] or "", r["since"]))


def _bounds(points: list[tuple[float, float]]) -> list[list[float]]:
    if not points:
        return LIBYA_BOUNDS
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    pad = 0.3  # a lone event should not zoom the map to street level
    return [[min(lats) - pad, min(lons) - pad], [max(lats) + pad, max(lons) + pad]]


def _tile_layers(show_first: bool) -> list[folium.TileLayer]:
    return [
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", show=show_first,
                         max_zoom=MAX_ZOOM),
        folium.TileLayer(POSITRON_URL, attr=POSITRON_ATTR, name="Light (CartoDB Positron)",
                         show=False, max_zoom=MAX_ZOOM),
        folium.TileLayer(SATELLITE_URL, attr=SATELLITE_ATTR, name="Satellite (Esri World Imagery)",
                         show=False, max_zoom=MAX_ZOOM),
    ]


def build_map(events: list[Mapping], control_holdings: list[Mapping], districts: dict, *,
              offline: bool = False, towns: list[Mapping] | None = None,
              faction_names: Mapping[str, str] | None = None, as_of: str | None = None,
              note: str | None = None) -> folium.Map:
    """The layered event map. `control_holdings` are `control_places` rows; `towns` label the
    vector basemap (default: the gazetteer's main towns); `faction_names` maps faction ids to
    display names (default: the factions lexicon).

    Online the first base layer is OpenStreetMap; with `offline` it is the vector basemap, which
    needs no tile server (the tile layers stay in the control for when a network is there)."""
    if towns is None:
        from gazetteer.load import load_gazetteer

        towns = main_towns(load_gazetteer())
    if faction_names is None:
        faction_names = _faction_names([*(a for e in events for a in e.get("actors") or []),
                                        *(h["faction"] for h in control_holdings)])
    fmap = folium.Map(location=[27.0, 17.0], zoom_start=5, tiles=None, control_scale=True)
    # MarkerCluster refuses to start on a map without a maxZoom, and without a tile layer on the
    # map (offline) Leaflet has none; folium 0.20 passes max_zoom only to its default tiles.
    fmap.options["max_zoom"] = MAX_ZOOM
    # the sea around the vector basemap (tiles cover it when a tile layer is chosen)
    fmap.get_root().header.add_child(Element("<style>div.leaflet-container{background:#dce8f0}"
                                             "</style>"), name="marsad_sea")
    base = layers.vector_basemap(districts, towns, show=offline)
    if offline:
        base.add_to(fmap)
    for tile in _tile_layers(show_first=not offline):
        tile.add_to(fmap)
    if not offline:
        base.add_to(fmap)

    for group in layers.event_layers(events, faction_names):
        group.add_to(fmap)
    layers.control_layer(control_holdings, faction_names, as_of=as_of).add_to(fmap)
    counts = layers.count_by_district(events, districts)
    colormap = layers.district_colormap(counts)
    layers.district_counts_layer(districts, counts, colormap).add_to(fmap)
    layers.heat_layer(events).add_to(fmap)
    layers.time_layer(events).add_to(fmap)

    held_by = {h["faction"] for h in control_holdings}
    layers.legend(Counter(e.get("type") or "other" for e in events),
                  {f: faction_names.get(f, f) for f in held_by}, colormap=colormap,
                  note=note).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.fit_bounds(_bounds([(e["lat"], e["lon"]) for e in events if e.get("lat") is not None]
                            + [(h["lat"], h["lon"]) for h in control_holdings]))
    return fmap


def _faction_names(ids: Iterable[str]) -> dict[str, str]:
    from geo.factions import load_factions

    factions = load_factions()
    out = {}
    for fid in set(ids):
        f = factions.get(fid)
        out[fid] = f.name_en if f else fid
    return out


# A \uXXXX escape of a letter outside ASCII (Arabic text in popups), not preceded by an odd
# number of backslashes (which would make it literal text rather than an escape).
_NON_ASCII_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u([0-9a-fA-F]{4})")


def render_html(fmap: folium.Map) -> str:
    """The map's HTML with JSON's \\uXXXX escapes of Arabic and other non-ASCII letters written
    as the characters themselves: six bytes a letter become two, a third of the file for maps
    of many events. HTML-special characters (< > & ' are below 0x80) keep their escapes, so
    this changes no meaning and opens no door to markup."""
    html = fmap.get_root().render()

    def unescape(m: re.Match) -> str:
        code = int(m.group(2), 16)
        if code < 0x80 or 0xD800 <= code <= 0xDFFF or code in (0x2028, 0x2029):
            return m.group(0)  # ASCII, surrogates and JS line separators stay escaped
        return m.group(1) + chr(code)

    return _NON_ASCII_ESCAPE.sub(unescape, html)
