"""Offline maps (maps/offline.py) in a real browser: headless Debian Chromium driven by
Playwright, every http(s) request aborted. `make test` installs the browser first
(scripts/install_browser.sh); without it the browser tests fail with a message saying so."""

from __future__ import annotations

import io
import os
import random
import re

import folium
import pytest
from folium import plugins

from maps.offline import OfflineError, external_refs, inline_css, load_manifest, make_offline
from maps.screenshot import CHROMIUM, browser_page, open_map

@pytest.fixture(autouse=True)
def _browser_installed(request):
    if "browser" in request.node.name or request.node.get_closest_marker("browser"):
        assert os.path.exists(CHROMIUM), f"{CHROMIUM} missing: run scripts/install_browser.sh"


needs_browser = pytest.mark.browser

CLUSTERED, PLAIN = 25, 3
OVERLAYS = ["Cities (clustered)", "Sites", "Heat", "Districts"]

# JS: markers per overlay of the layer control, counted through getLayers() (clusters hide
# most markers from the DOM), plus the distinct markers reachable from the map itself.
COUNT_MARKERS = """() => {
  const isMarker = l => l instanceof L.Marker && !(L.MarkerCluster && l instanceof L.MarkerCluster);
  function count(layer, seen) {
    if (seen.has(layer)) return 0;
    seen.add(layer);
    if (isMarker(layer)) return 1;
    return layer.getLayers ? layer.getLayers().reduce((n, l) => n + count(l, seen), 0) : 0;
  }
  const ctlName = Object.keys(window).find(k => k.startsWith('layer_control_') && k.endsWith('_layers'));
  const overlays = window[ctlName].overlays;
  const per = {};
  for (const [name, layer] of Object.entries(overlays)) per[name] = count(layer, new Set());
  const map = window[Object.keys(window).filter(k => k.startsWith('map_'))[0]];
  const seen = new Set();
  let total = 0;
  map.eachLayer(l => { total += count(l, seen); });
  return {per, total};
}"""

OVERLAY_NAMES = """() => Array.from(document.querySelectorAll(
  '.leaflet-control-layers-overlays label')).map(s => s.textContent.trim())"""

BROKEN_IMAGES = """() => Array.from(document.images)
  .filter(i => !i.complete || i.naturalWidth === 0 || !i.src.startsWith('data:'))
  .map(i => i.src.slice(0, 80))"""

FAILED_FONTS = """async () => { await document.fonts.ready;
  return Array.from(document.fonts).filter(f => f.status === 'error').map(f => f.family); }"""


def small_map() -> folium.Map:
    rnd = random.Random(7)
    fmap = folium.Map(location=[27.0, 17.0], zoom_start=5, tiles=None, max_zoom=12)
    # folium 0.20 passes max_zoom only to the default tile layer, so with tiles=None the
    # map has no maxZoom and MarkerCluster throws "Map has no maxZoom specified".
    fmap.options["max_zoom"] = 12
    cities = folium.FeatureGroup(name="Cities (clustered)").add_to(fmap)
    cluster = plugins.MarkerCluster().add_to(cities)
    for i in range(CLUSTERED):
        icon = folium.Icon(icon="star", prefix="fa", color="red") if i % 2 else None
        folium.Marker([rnd.uniform(30.5, 32.8), rnd.uniform(12.0, 22.0)], icon=icon,
                      tooltip=f"city {i}").add_to(cluster)
    sites = folium.FeatureGroup(name="Sites").add_to(fmap)
    for lat, lon in [(26.0, 14.4), (24.9, 21.3), (29.1, 15.9)][:PLAIN]:
        folium.Marker([lat, lon]).add_to(sites)  # Leaflet's default icon
    plugins.HeatMap([[rnd.uniform(30, 33), rnd.uniform(12, 22), 1.0] for _ in range(200)],
                    name="Heat").add_to(fmap)
    districts = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "west"},
         "geometry": {"type": "Polygon", "coordinates": [[[10, 20], [17, 20], [17, 33], [10, 33], [10, 20]]]}},
        {"type": "Feature", "properties": {"name": "east"},
         "geometry": {"type": "Polygon", "coordinates": [[[17, 20], [25, 20], [25, 32], [17, 32], [17, 20]]]}}]}
    folium.GeoJson(districts, name="Districts",
                   style_function=lambda f: {"color": "#225", "fillColor": "#8ac", "weight": 2}).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap


# --- without a browser ------------------------------------------------------------------------

def test_every_external_reference_is_inlined_or_left_out():
    html = small_map().get_root().render()
    assert external_refs(html), "folium should reference CDN files"
    page = make_offline(html)
    assert external_refs(page) == []
    assert "L.Icon.Default.mergeOptions" in page
    assert not re.search(r"""url\(\s*['"]?(?:https?:)?//""", page, re.I)


def test_unknown_external_script_or_stylesheet_is_an_error():
    base = small_map().get_root().render()
    for tag in ('<script src="https://example.org/x.js"></script>',
                '<link rel="stylesheet" href="//example.org/x.css"/>'):
        with pytest.raises(OfflineError, match="example.org/x"):
            make_offline(base.replace("</head>", tag + "</head>", 1))


def test_css_urls_become_data_uris_and_unvendored_font_sources_are_dropped():
    manifest = load_manifest()
    fa = next(a["file"] for u, a in manifest["assets"].items() if "fontawesome" in u)
    css = inline_css('@font-face{font-family:x;src:url(../webfonts/fa-solid-900.woff2) format("woff2"),'
                     'url(../webfonts/fa-solid-900.ttf) format("truetype")}', fa)
    assert 'url("data:font/woff2;base64,' in css and ".ttf" not in css
    leaflet_css = next(a["file"] for u, a in manifest["assets"].items() if u.endswith("leaflet.css"))
    assert 'url("data:image/png;base64,' in inline_css(".a{background:url(images/layers.png)}", leaflet_css)
    with pytest.raises(OfflineError):
        inline_css(".a{background:url(https://example.org/a.png)}", leaflet_css)


# --- in the browser ----------------------------------------------------------------------------

@needs_browser
def test_offline_map_renders_without_network(tmp_path):
    from PIL import Image, ImageStat

    page_html = make_offline(small_map().get_root().render())
    path = tmp_path / "offline_map.html"
    path.write_text(page_html, encoding="utf-8")
    shot = tmp_path / "offline_map.png"
    with browser_page() as (page, log):
        open_map(page, path)
        assert page.evaluate("typeof L !== 'undefined'")
        assert page.evaluate(OVERLAY_NAMES) == OVERLAYS
        counts = page.evaluate(COUNT_MARKERS)
        broken = page.evaluate(BROKEN_IMAGES)
        failed_fonts = page.evaluate(FAILED_FONTS)
        # Font Awesome loads from its inlined data: URI (its icons get a glyph, not a box).
        fa_font = page.evaluate("""async () => (await document.fonts.load(
            '900 16px "Font Awesome 6 Free"', '\\uf005')).map(f => f.status)""")
        page.screenshot(path=str(shot))
    assert counts["per"] == {"Cities (clustered)": CLUSTERED, "Sites": PLAIN, "Heat": 0, "Districts": 0}
    assert counts["total"] == CLUSTERED + PLAIN
    assert broken == []
    assert failed_fonts == []
    assert fa_font == ["loaded"]
    assert log.console_errors == [] and log.page_errors == []
    assert log.network == [] and log.blocked == []
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("L")
    assert ImageStat.Stat(image).stddev[0] > 10, "screenshot looks blank"


@needs_browser
def test_every_vendored_asset_works_offline(tmp_path):
    """The map maps.vendor renders to collect URLs (every plugin: time slider, timestamped
    GeoJSON, fullscreen, colormap legend...) runs offline without errors."""
    from maps.vendor import _sample_map_html

    path = tmp_path / "all_plugins.html"
    path.write_text(make_offline(_sample_map_html()), encoding="utf-8")
    with browser_page() as (page, log):
        open_map(page, path)
        controls = page.evaluate("""() => ['.leaflet-control-timecontrol', '.leaflet-control-layers',
            '.leaflet-control-zoom-fullscreen', '.legend'].map(s => !!document.querySelector(s))""")
        # the time control's buttons use the Glyphicons font, the legend d3 3.5.5
        glyph = page.evaluate("""async () => (await document.fonts.load(
            '16px "Glyphicons Halflings"', '\\ue072')).map(f => f.status)""")
        libs = page.evaluate("[typeof d3, typeof moment, typeof jQuery, typeof jQuery.ui, "
                             "typeof L.TimeDimension, typeof L.heatLayer, typeof L.markerClusterGroup]")
        failed_fonts = page.evaluate(FAILED_FONTS)
    assert controls == [True, True, True, True]
    assert glyph == ["loaded"]
    assert "undefined" not in libs
    assert failed_fonts == []
    assert log.console_errors == [] and log.page_errors == []
    assert log.network == [] and log.blocked == []


@needs_browser
def test_marsad_map_offline_on_seeds(tmp_path):
    from PIL import Image, ImageStat

    from maps.screenshot import seeds_map

    out = tmp_path / "seeds_map.html"
    seeds_map(out, tmp_path)
    html = out.read_text(encoding="utf-8")
    assert external_refs(html) == []
    from geo.store import EventStore
    with EventStore(tmp_path / "events.gpkg", create=False) as store:
        located = [e for e in store.events() if e.get("lat") is not None]
    assert located
    shot = tmp_path / "seeds_map.png"
    with browser_page() as (page, log):
        open_map(page, out)
        assert page.evaluate("typeof L !== 'undefined'")
        names = page.evaluate(OVERLAY_NAMES)
        counts = page.evaluate(COUNT_MARKERS)
        failed_fonts = page.evaluate(FAILED_FONTS)
        page.screenshot(path=str(shot))
    event_layers = {n: c for n, c in counts["per"].items() if n.startswith("Events: ")}
    assert event_layers and all(n in names for n in event_layers)
    # "Events: Armed clash (6)": the number in the name is the markers in the layer
    for name, n in event_layers.items():
        assert n == int(re.search(r"\((\d+)\)$", name).group(1)), name
    assert sum(event_layers.values()) == len(located)
    assert failed_fonts == []
    assert log.console_errors == [] and log.page_errors == []
    assert log.network == [] and log.blocked == []
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("L")
    assert ImageStat.Stat(image).stddev[0] > 10, "screenshot looks blank"
