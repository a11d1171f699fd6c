"""The layers of the event map, one small builder each: data in, a `folium.FeatureGroup` out.

Article text is data, never markup. Every string that comes from an article, the store or a
data file goes through `esc` before it reaches the page, and point data is embedded as JSON
through Jinja's `tojson` (which also escapes `<`, `>` and `&`), so a crafted article can neither
open a tag nor end a script. Popups and tooltips are bound in JavaScript from feature properties
rather than through `folium.Popup`, whose template pastes its HTML into a JS template literal.
"""

from __future__ import annotations

import html
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

import branca.colormap as cm
import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import HeatMap, MarkerCluster, TimestampedGeoJson
from folium.template import Template
from folium.utilities import JsCode

# Event types (ACLED families, see DESIGN.md): label, colour, symbol. The symbols are plain
# Unicode characters in a coloured disc, so markers need no icon font or image.
EVENT_STYLES: dict[str, tuple[str, str, str]] = {
    "armed_clash": ("Armed clash", "#e41a1c", "⚔"),
    "attack": ("Attack", "#ff7f00", "✸"),
    "storming": ("Storming", "#a65628", "⇶"),
    "airstrike": ("Airstrike", "#377eb8", "✈"),
    "shelling": ("Shelling", "#984ea3", "◎"),
    "explosion": ("Explosion", "#222222", "✺"),
    "territory_taken": ("Territory taken", "#4daf4a", "⚑"),
    "withdrawal": ("Withdrawal", "#8c8c8c", "↩"),
    "abduction": ("Abduction", "#f781bf", "⊗"),
    "killing": ("Killing", "#67000d", "✖"),
    "protest": ("Protest", "#d4b106", "✦"),
    "mobilization": ("Mobilization", "#1b9e77", "▲"),
}
_OTHER_COLOUR, _OTHER_SYMBOL = "#666666", "•"

# Well-known factions keep their colour from map to map; the others take the palette in turn.
FACTION_COLOURS = {"LNA": "#8c510a", "GNA": "#2166ac", "GNU": "#4393c3", "GNC": "#1a9850",
                   "HoR": "#bf812d", "ISIS": "#000000", "Misrata": "#762a83", "Zintan": "#d6604d",
                   "Radaa": "#35978f", "Tebu": "#c51b7d", "Tuareg": "#7fbc41"}
_PALETTE = ["#e7298a", "#66a61e", "#e6ab02", "#7570b3", "#a6761d", "#1b7837", "#b2182b",
            "#5e3c99", "#01665e", "#f46d43"]

# A layer with more markers than this clusters them (Leaflet.markercluster).
CLUSTER_FROM = 40
# Above this many dated events the time slider shows one marker per place and day, sized by the
# number of events, instead of one per event: 50,000 separate time-dimension markers make the
# slider stutter, and analysts read the slider for where and when, not for single reports.
TIME_AGGREGATE_FROM = 3000
TIME_MONTHLY_FROM = 20000
# Above this many events a map shows one marker per place and event type, with the count and
# the latest reports in its popup: every event is still counted, but the page stays small
# enough to open (about 0.4 KB a marker instead of 1.6 KB an event).
PLACE_AGGREGATE_FROM = 5000
PLACE_POPUP_REPORTS = 3
# Each step of the time slider shows the events of the week up to the chosen date.
TIME_WINDOW = "P7D"
# Towns at least this populous are labelled on the vector basemap.
TOWN_MIN_IMPORTANCE = 50000


def esc(value) -> str:
    """HTML-escape article or data text. Also makes `` ` ``, `$` and `\\` inert, so the result is
    safe even inside the JavaScript template literals some folium templates use."""
    text = "" if value is None else str(value)
    return html.escape(text).translate({ord("`"): "&#96;", ord("$"): "&#36;",
                                        ord("\\"): "&#92;"})


def event_style(event_type: str | None) -> tuple[str, str, str]:
    """(label, colour, symbol) of an event type; unknown types, labelled by their id, share a
    grey dot."""
    return EVENT_STYLES.get(event_type or "") or (event_type or "other", _OTHER_COLOUR,
                                                   _OTHER_SYMBOL)


def faction_colours(faction_ids: Iterable[str]) -> dict[str, str]:
    """A stable colour for each faction id (well-known ones fixed, the rest from a palette)."""
    out, spare = {}, iter(_PALETTE * 10)
    for fid in sorted(set(faction_ids)):
        out[fid] = FACTION_COLOURS.get(fid) or next(spare)
    return out


def _source_html(url: str | None, source: str | None) -> str:
    """A link only for http(s) URLs; anything else (javascript:, data:, paths) stays text."""
    label = esc(source or url or "")
    if url and url.strip().lower().startswith(("http://", "https://")):
        return (f'<a href="{esc(url.strip())}" target="_blank" rel="noopener noreferrer">'
                f"{label}</a>")
    if url and source:
        return f"{label} ({esc(url)})"
    return label


def event_popup(event: Mapping, faction_names: Mapping[str, str] | None = None) -> str:
    """The popup of one event. `data-event` carries the event id (one per marker)."""
    names = faction_names or {}
    label = event_style(event.get("type"))[0]
    actors = ", ".join(esc(names.get(a, a)) for a in event.get("actors") or []) or "—"
    counts = []
    for key, word in (("fatalities", "killed"), ("injuries", "injured")):
        if event.get(key) is not None:
            counts.append(f"{esc(event[key])} {word}")
    confidence = event.get("confidence")
    conf = f"{confidence:.2f}" if isinstance(confidence, (int, float)) else "—"
    parts = [
        f'<div class="marsad-popup" data-event="{esc(event.get("id"))}">',
        f"<b>{esc(label)}</b> · {esc(event.get('date') or 'undated')}"
        f" ({esc(event.get('date_precision') or '?')})<br>",
        f"<b>{esc(event.get('place_en'))}</b> · "
        f'<span dir="rtl" lang="ar">{esc(event.get("place_ar"))}</span>'
        f" · {esc(event.get('district') or '')} (geo-precision {esc(event.get('geo_precision'))})"
        "<br>",
        f"Actors: {actors}<br>",
    ]
    if event.get("controller_after"):
        who = event["controller_after"]
        parts.append(f"Held afterwards by: {esc(names.get(who, who))}<br>")
    parts.append(f"Casualties: {', '.join(counts) or 'not reported'} · confidence {conf}<br>")
    if event.get("sentence"):
        parts.append(f'<p dir="rtl" lang="ar" style="text-align:right;margin:4px 0">'
                     f"{esc(event['sentence'])}</p>")
    source = _source_html(event.get("url"), event.get("source"))
    parts.append(f"Source: {source or '—'}" + (f" · {esc(event['doc'])}" if event.get("doc")
                                                else "") + "<br>")
    parts.append(f'<small>event {esc(event.get("id"))}</small></div>')
    return "".join(parts)


def _icon_html(colour: str, symbol: str) -> str:
    return (f'<div style="background:{colour};color:#fff;border:1px solid #fff;'
            "border-radius:50%;width:18px;height:18px;line-height:18px;text-align:center;"
            f'font-size:11px;box-shadow:0 0 2px #000">{symbol}</div>')


_BIND_POPUP = JsCode("""function (feature, layer) {
    layer.bindPopup(feature.properties.popup, {maxWidth: 380});
    if (feature.properties.label) { layer.bindTooltip(feature.properties.label); }
}""")


def _points(rows: Iterable[tuple[float, float, dict]]) -> dict:
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": props,
                          "geometry": {"type": "Point", "coordinates": [lon, lat]}}
                         for lat, lon, props in rows]}


def _place_rows(events: list[Mapping], label: str, faction_names: Mapping[str, str] | None
                ) -> list[tuple[float, float, dict]]:
    """One marker per place for many events: the count, and the latest reports in brief."""
    names = faction_names or {}
    by_place: dict[tuple, list[Mapping]] = defaultdict(list)
    for e in events:
        by_place[(e.get("place_en"), round(e["lat"], 2), round(e["lon"], 2))].append(e)
    rows = []
    for (place, lat, lon), group in by_place.items():
        group = sorted(group, key=lambda e: e.get("date") or "", reverse=True)
        latest = "".join(
            f"<li>{esc(e.get('date') or 'undated')} · "
            f"{esc(', '.join(names.get(a, a) for a in e.get('actors') or []) or '—')}"
            f'<br><span dir="rtl" lang="ar">{esc((e.get("sentence") or "")[:120])}</span></li>'
            for e in group[:PLACE_POPUP_REPORTS])
        popup = (f'<div class="marsad-popup" data-events="{len(group)}"><b>{esc(label)}</b>: '
                 f"{len(group)} events at <b>{esc(place)}</b>"
                 f" ({esc(group[-1].get('date') or '?')} – {esc(group[0].get('date') or '?')})"
                 f"<ul>{latest}</ul>"
                 + (f"and {len(group) - PLACE_POPUP_REPORTS} more (marsad events lists them)"
                    if len(group) > PLACE_POPUP_REPORTS else "") + "</div>")
        rows.append((lat, lon, {"popup": popup, "label": f"{esc(place)} ({len(group)})"}))
    return rows


def event_layers(events: list[Mapping], faction_names: Mapping[str, str] | None = None,
                 *, aggregate_from: int = PLACE_AGGREGATE_FROM) -> list[folium.FeatureGroup]:
    """One layer per event type, one marker per event (events without coordinates are left
    out); above `aggregate_from` events, one marker per place and type with its count. A
    layer with more than `CLUSTER_FROM` markers clusters them."""
    by_type: dict[str, list[Mapping]] = defaultdict(list)
    for e in events:
        if e.get("lat") is not None and e.get("lon") is not None:
            by_type[e.get("type") or "other"].append(e)
    order = [t for t in EVENT_STYLES if t in by_type] + sorted(set(by_type) - set(EVENT_STYLES))
    aggregate = sum(len(v) for v in by_type.values()) > aggregate_from
    layers = []
    for event_type in order:
        label, colour, symbol = event_style(event_type)
        group = folium.FeatureGroup(name=f"Events: {label} ({len(by_type[event_type])})")
        if aggregate:
            rows = _place_rows(by_type[event_type], label, faction_names)
        else:
            rows = [(e["lat"], e["lon"], {
                "popup": event_popup(e, faction_names),
                "label": f"{esc(label)} · {esc(e.get('place_en'))} · {esc(e.get('date') or '')}",
            }) for e in by_type[event_type]]
        marker = folium.Marker(icon=folium.DivIcon(html=_icon_html(colour, symbol),
                                                   icon_size=(18, 18), icon_anchor=(9, 9),
                                                   class_name="marsad-event"))
        points = folium.GeoJson(_points(rows), marker=marker, on_each_feature=_BIND_POPUP,
                                name=label, control=False)
        if len(rows) > CLUSTER_FROM:
            cluster = MarkerCluster(control=False, options={"chunkedLoading": True})
            points.add_to(cluster)
            cluster.add_to(group)
        else:
            points.add_to(group)
        layers.append(group)
    return layers


def control_layer(holdings: list[Mapping], faction_names: Mapping[str, str] | None = None,
                  *, as_of: str | None = None) -> folium.FeatureGroup:
    """Places coloured by the faction holding them. A holding is a dict with place_id,
    place_en, place_ar, lat, lon, faction, since and evidence (event ids / control records)."""
    names = faction_names or {}
    colours = faction_colours(h["faction"] for h in holdings)
    title = f"Control as of {as_of}" if as_of else "Control (latest evidence)"
    group = folium.FeatureGroup(
        name=f"{title} ({len(holdings)} place{'' if len(holdings) == 1 else 's'})")
    rows = []
    for h in holdings:
        if h.get("lat") is None or h.get("lon") is None:
            continue
        who = names.get(h["faction"], h["faction"])
        popup = (f"<b>{esc(h.get('place_en') or h['place_id'])}</b>"
                 + (f' · <span dir="rtl" lang="ar">{esc(h["place_ar"])}</span>'
                    if h.get("place_ar") else "")
                 + f"<br>Held by <b>{esc(who)}</b> ({esc(h['faction'])}) since {esc(h['since'])}"
                 + "<br>Evidence: " + ", ".join(esc(x) for x in h.get("evidence") or []))
        rows.append((h["lat"], h["lon"], {
            "popup": popup, "label": f"{esc(h.get('place_en'))}: {esc(who)}",
            "style": {"radius": 9, "color": "#ffffff", "weight": 2,
                      "fillColor": colours[h["faction"]], "fillOpacity": 0.9}}))
    folium.GeoJson(_points(rows), control=False, on_each_feature=_BIND_POPUP,
                   marker=folium.CircleMarker(radius=9)).add_to(group)
    return group


def count_by_district(events: list[Mapping], districts: dict) -> dict[str, int]:
    """Events per district ISO code: the event's own district, else the polygon it falls in
    (a spatial join through the districts' spatial index)."""
    counts = Counter(e["district"] for e in events if e.get("district"))
    loose = [e for e in events if not e.get("district") and e.get("lat") is not None]
    if loose and districts.get("features"):
        import geopandas as gpd

        polys = gpd.GeoDataFrame.from_features(districts["features"], crs="EPSG:4326")
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([e["lon"] for e in loose],
                                                           [e["lat"] for e in loose]),
                               crs="EPSG:4326")
        hit = gpd.sjoin(pts, polys[["iso_code", "geometry"]], predicate="within")
        counts.update(hit[~hit.index.duplicated()]["iso_code"])
    return dict(counts)


def district_colormap(counts: Mapping[str, int]) -> cm.LinearColormap:
    """The colour scale (and legend) of the district counts layer."""
    top = max([*counts.values(), 1])
    return cm.LinearColormap(["#fff7ec", "#fdbb84", "#d7301f", "#7f0000"], vmin=0, vmax=top,
                             caption="Events per district")


def district_counts_layer(districts: dict, counts: Mapping[str, int],
                          colormap: cm.LinearColormap | None = None) -> folium.FeatureGroup:
    """A choropleth of events per district (districts without events stay unfilled)."""
    colormap = colormap or district_colormap(counts)
    features = []
    for f in districts.get("features", []):
        props = f["properties"]
        n = counts.get(props.get("iso_code"), 0)
        features.append({**f, "properties": {
            "iso_code": esc(props.get("iso_code")), "name_en": esc(props.get("name_en")),
            "name_ar": esc(props.get("name_ar")), "events": n}})

    def style(feature):
        n = feature["properties"]["events"]
        return {"fillColor": colormap(n) if n else "#ffffff", "fillOpacity": 0.65 if n else 0.1,
                "color": "#555555", "weight": 1}

    group = folium.FeatureGroup(name="Events per district", show=False)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features}, style_function=style,
        control=False,
        tooltip=folium.GeoJsonTooltip(fields=["name_en", "name_ar", "iso_code", "events"],
                                      aliases=["District", "الشعبية", "ISO", "Events"]),
    ).add_to(group)
    return group


def heat_layer(events: list[Mapping]) -> folium.FeatureGroup:
    """Density of events (every event weighs the same)."""
    group = folium.FeatureGroup(name="Heat map of events", show=False)
    points = [[e["lat"], e["lon"]] for e in events
              if e.get("lat") is not None and e.get("lon") is not None]
    if points:
        HeatMap(points, radius=18, blur=15, min_opacity=0.3).add_to(group)
    return group


class _TimeSlider(TimestampedGeoJson):
    """folium's TimestampedGeoJson, made to live inside a FeatureGroup so the LayerControl can
    toggle it (folium 0.20's version insists on the Map as parent and is always on). The slider
    control appears with the layer. The data goes through `tojson` like every other layer."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this.map_name }};
            var group = {{ this._parent.get_name() }};
            map.timeDimension = map.timeDimension || L.timeDimension(
                {period: {{ this.period|tojson }}});
            var Slider = L.Control.TimeDimension.extend({
                _getDisplayDateFormat: function (d) { return d.toISOString().slice(0, 10); }
            });
            var control = new Slider(Object.assign(
                {{ this.options|tojavascript }}, {timeDimension: map.timeDimension}));
            var points = L.geoJson({{ this.geojson|tojson }}, {
                pointToLayer: function (feature, latlng) {
                    return L.circleMarker(latlng, feature.properties.style);
                },
                onEachFeature: function (feature, layer) {
                    layer.bindPopup(feature.properties.popup);
                }
            });
            L.timeDimension.layer.geoJson(points, {
                timeDimension: map.timeDimension, updateTimeDimension: true,
                updateTimeDimensionMode: "union", addlastPoint: false,
                duration: {{ this.duration_json }}
            }).addTo(group);
            group.on("add", function () { control.addTo(map); });
            group.on("remove", function () { map.removeControl(control); });
            if (map.hasLayer(group)) { control.addTo(map); }
        })();
        {% endmacro %}
    """)

    def __init__(self, geojson: dict, duration: str | None):
        super().__init__({"type": "FeatureCollection", "features": []}, period="P1D",
                         auto_play=False, date_options="YYYY-MM-DD", duration=duration)
        self.geojson = geojson
        self.duration_json = "undefined" if duration is None else f'"{duration}"'
        self.map_name = None

    def render(self, **kwargs):
        parent = self._parent
        while parent is not None and not isinstance(parent, folium.Map):
            parent = parent._parent
        if parent is None:
            raise ValueError("the time slider must be inside a folium.Map")
        self.map_name = parent.get_name()
        JSCSSMixin.render(self, **kwargs)  # its assets, without TimestampedGeoJson's Map check


def time_layer(events: list[Mapping], *, aggregate_from: int = TIME_AGGREGATE_FROM,
               window: str | None = TIME_WINDOW) -> folium.FeatureGroup:
    """Events on a time slider (Leaflet.TimeDimension). Undated events are left out. Above
    `aggregate_from` dated events, one marker per place and day carries the day's count.

    Why TimestampedGeoJson and not TimeSliderChoropleth: events are points with one date each,
    which is what TimestampedGeoJson animates; TimeSliderChoropleth restyles fixed polygons and
    would need a style for every district at every date (22 x thousands of days). The slider
    steps through the dates that have events only (updateTimeDimensionMode "union")."""
    dated = [e for e in events if e.get("date") and e.get("lat") is not None]
    by_key: dict[tuple, list[Mapping]] = defaultdict(list)
    aggregate = len(dated) > aggregate_from
    by_month = len(dated) > TIME_MONTHLY_FROM
    for i, e in enumerate(dated):
        if by_month:
            # very many events: one marker per district and month keeps the page small
            key = (e["date"][:7], e.get("district") or (round(e["lat"]), round(e["lon"])))
        elif aggregate:
            key = (e["date"], round(e["lat"], 3), round(e["lon"], 3))
        else:
            key = (i,)
        by_key[key].append(e)
    features = []
    for group_events in by_key.values():
        first = group_events[0]
        n = len(group_events)
        types = Counter(event_style(e.get("type"))[0] for e in group_events)
        when = first["date"][:7] + "-01" if by_month else first["date"]
        where = (first.get("district") or first.get("place_en")) if by_month \
            else first.get("place_en")
        popup = (f"<b>{esc(when[:7] if by_month else when)}</b> · {esc(where)}<br>"
                 + ", ".join(f"{esc(t)} ×{c}" if c > 1 else esc(t) for t, c in types.items()))
        colour = event_style(first.get("type"))[1] if len(types) == 1 else "#444444"
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [first["lon"], first["lat"]]},
            "properties": {"times": [when], "popup": popup, "style": {
                "radius": 5 + 3 * math.log2(n), "color": "#ffffff", "weight": 1,
                "fillColor": colour, "fillOpacity": 0.85}},
        })
    title = "Time slider" + (" (districts per month)" if by_month else
                             " (places per day)" if aggregate else "")
    group = folium.FeatureGroup(name=f"{title} ({len(dated)} dated events)", show=False)
    if features:
        _TimeSlider({"type": "FeatureCollection", "features": features}, window).add_to(group)
    return group


def vector_basemap(districts: dict, towns: list[Mapping], *, show: bool = True
                   ) -> folium.FeatureGroup:
    """Libya drawn from the district polygons, with district outlines and labelled main towns:
    a base layer that needs no tile server (the default with --offline). A town is a dict with
    name_en, name_ar, lat, lon."""
    group = folium.FeatureGroup(name="Libya (vector, no tiles)", overlay=False, show=show)
    folium.GeoJson(
        districts, control=False,
        style_function=lambda f: {"fillColor": "#f4efe1", "fillOpacity": 1, "color": "#9a8f7a",
                                  "weight": 1},
        highlight_function=lambda f: {"weight": 2, "color": "#5a5242"},
        tooltip=folium.GeoJsonTooltip(fields=["name_en", "name_ar"], labels=False),
    ).add_to(group)
    for t in towns:
        folium.CircleMarker([t["lat"], t["lon"]], radius=3, color="#333333", weight=1,
                            fill=True, fill_color="#333333", fill_opacity=1).add_to(group)
        label = (f'<div style="font:11px sans-serif;color:#333;white-space:nowrap;'
                 f'text-shadow:0 0 2px #fff,0 0 2px #fff">{esc(t["name_en"])}'
                 f' <span dir="rtl" lang="ar">{esc(t.get("name_ar"))}</span></div>')
        folium.Marker([t["lat"], t["lon"]], icon=folium.DivIcon(
            html=label, icon_size=(160, 14), icon_anchor=(-5, 7),
            class_name="marsad-town")).add_to(group)
    return group


class _Legend(MacroElement):
    _template = Template("""
        {% macro html(this, kwargs) %}
        <div id="{{ this.get_name() }}" class="marsad-legend" style="position:fixed;
             bottom:24px;right:12px;z-index:9999;background:rgba(255,255,255,0.92);
             padding:6px 9px;border:1px solid #999;border-radius:4px;
             font:12px/1.45 sans-serif;max-height:45vh;overflow:auto">
        {{ this.body }}
        </div>
        {% endmacro %}
    """)

    def __init__(self, body: str):
        super().__init__()
        self._name = "Legend"
        self.body = body


def legend(event_counts: Mapping[str, int], faction_names: Mapping[str, str],
           *, colormap: cm.LinearColormap | None = None, note: str | None = None
           ) -> MacroElement:
    """A fixed box listing the event types shown (symbol, colour, count), the factions of the
    control layer (colour, name) and the district counts scale, plus an optional note (e.g.
    "no events match"). The scale is the colormap's own SVG: branca's map control for it
    would load d3 from a CDN."""
    rows = []
    if note:
        rows.append(f'<div style="color:#b2182b;font-weight:bold">{esc(note)}</div>')
    if event_counts:
        rows.append("<b>Event types</b>")
        for t in [t for t in EVENT_STYLES if t in event_counts] + sorted(
                set(event_counts) - set(EVENT_STYLES)):
            label, colour, symbol = event_style(t)
            rows.append(f'<div><span style="display:inline-block;width:16px;height:16px;'
                        f"line-height:16px;text-align:center;border-radius:50%;color:#fff;"
                        f'font-size:10px;background:{colour}">{symbol}</span> '
                        f"{esc(label)} ({event_counts[t]})</div>")
    if faction_names:
        colours = faction_colours(faction_names)
        rows.append("<b>Control by faction</b>")
        for fid in sorted(faction_names, key=lambda f: faction_names[f]):
            rows.append(f'<div><span style="display:inline-block;width:12px;height:12px;'
                        f'border-radius:50%;background:{colours[fid]}"></span> '
                        f"{esc(faction_names[fid])}</div>")
    if colormap is not None:
        colormap.width = 260
        rows.append(f"<div>{colormap._repr_html_()}</div>")  # its SVG ends with the caption
    return _Legend("\n".join(rows))
