"""`marsad map` and the layer builders of maps/layers.py, on a store of the seeds plus a crafted
article whose text tries to inject markup and script into the map."""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from geo.cli import main
from geo.ingest import ingest
from geo.store import EventStore
from maps import layers

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

# A crafted article: markup next to a place name and a trigger, a backtick template literal,
# a javascript: URL and a source name with a script tag.
EVIL_TEXT = ("اشتباكات عنيفة في بنغازي <img src=x onerror=alert(2)> <script>alert(1)</script> "
             "`${alert(5)}` \\u003cb\\u003e. وقال شهود إن الاشتباكات استمرت حتى المساء.")
EVIL = {"text": EVIL_TEXT, "url": "javascript:alert(3)", "source": "<script>alert(4)</script>",
        "published": "2016-02-10", "title": "<b>crafted</b>"}
RAW_TAGS = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "<script>alert(4)",
            "${alert(5)}", "<b>crafted"]


@pytest.fixture(scope="module")
def store(gaz, tmp_path_factory):
    folder = tmp_path_factory.mktemp("articles")
    for path in [*SEEDS.glob("*.txt"), SEEDS / "metadata.json"]:
        shutil.copy(path, folder / path.name)
    (folder / "crafted.json").write_text(json.dumps(EVIL, ensure_ascii=False), encoding="utf-8")
    db = tmp_path_factory.mktemp("store") / "events.gpkg"
    summary = ingest([folder], db, gaz)
    assert summary.new == 6 and not summary.failed
    return db


@pytest.fixture(scope="module")
def stored(store):
    with EventStore(store, create=False) as s:
        return s.events()


def run(*args):
    return CliRunner().invoke(main, ["map", *[str(a) for a in args]])


def layer_names(page: str) -> tuple[list[str], list[str]]:
    """(base layers, overlays) as the rendered LayerControl lists them."""
    block = re.search(r"_layers = \{\s*base_layers : \{(.*?)\},\s*overlays :  \{(.*?)\},",
                      page, re.S)
    assert block, "no LayerControl in the page"
    return [re.findall(r'"([^"]+)" :', part) for part in block.groups()]


def event_ids(page: str) -> list[str]:
    """Event ids of the markers: each popup carries data-event="ID" (JSON-escaped in the page)."""
    return re.findall(r'data-event=\\?"([0-9a-f]+)\\?"', page)


def render(out: Path) -> str:
    return out.read_text(encoding="utf-8")


# -- layers and markers ---------------------------------------------------------------------------
def test_map_lists_every_layer_and_one_marker_per_event(store, stored, tmp_path):
    out = tmp_path / "map.html"
    result = run("--db", store, "-o", out)
    assert result.exit_code == 0, result.output
    page = render(out)
    base, overlays = layer_names(page)
    assert base == ["OpenStreetMap", "Light (CartoDB Positron)", "Satellite (Esri World Imagery)",
                    "Libya (vector, no tiles)"]
    by_type = Counter(e["type"] for e in stored)
    expected = {f"Events: {layers.EVENT_STYLES[t][0]} ({n})" for t, n in by_type.items()}
    assert expected <= set(overlays)
    assert [o for o in overlays if o.startswith("Events: ")] == [
        f"Events: {layers.EVENT_STYLES[t][0]} ({by_type[t]})"
        for t in layers.EVENT_STYLES if t in by_type]
    assert re.fullmatch(r"Control \(latest evidence\) \(\d+ places?\)", overlays[len(expected)])
    assert overlays[len(expected) + 1:] == ["Events per district", "Heat map of events",
                                            f"Time slider ({len(stored)} dated events)"]
    assert sorted(event_ids(page)) == sorted(e["id"] for e in stored)  # each exactly once
    assert "fitBounds" in page and "L.heatLayer" in page and "L.timeDimension" in page
    assert 'class="marsad-legend"' in page and "Control by faction" in page
    assert f"{len(stored)} events" in result.output


def test_control_layer_as_of_a_date_with_evidence_in_the_popups(store, tmp_path):
    out = tmp_path / "map.html"
    assert run("--db", store, "-o", out, "--as-of", "2017-12-31").exit_code == 0
    page = render(out)
    _, overlays = layer_names(page)
    control = [o for o in overlays if o.startswith("Control")]
    # by the end of 2017 only the 2017 captures (Benghazi, Sabha) are known, not 2019's
    assert control == ["Control as of 2017-12-31 (2 places)"]
    assert "Evidence: " in page and "Libyan National Army" in page


# -- escaping --------------------------------------------------------------------------------------
def test_article_text_never_reaches_the_page_as_markup(store, stored, tmp_path):
    crafted = [e for e in stored if "onerror" in (e["sentence"] or "")]
    assert crafted, "the crafted article should yield an event (clashes in Benghazi)"
    assert all(tag in crafted[0]["sentence"] for tag in ("<script>", "${", "\\u003c"))
    out = tmp_path / "map.html"
    assert run("--db", store, "-o", out).exit_code == 0
    page = render(out)
    for raw in RAW_TAGS:
        assert raw not in page
    assert "onerror=alert(2)" in page  # the text is there, escaped
    assert "javascript:alert(3)" in page  # shown as text ...
    assert not re.search(r'href=\\?"javascript', page, re.I)  # ... never as a link
    # tojson turned our own tags into \u003c...; the article's became &lt;...&gt; first
    assert "\\u0026lt;img src=x onerror=alert(2)\\u0026gt;" in page
    # the article's own "\u003cb\u003e" keeps its backslashes inert (&#92;), so JSON or a JS
    # string literal cannot turn it into a tag
    assert "\\u0026#92;u003cb\\u0026#92;u003e" in page


def test_popup_fields_and_links():
    event = {"id": "abc", "type": "airstrike", "date": "2019-04-05", "date_precision": "day",
             "place_en": "Tripoli", "place_ar": "طرابلس", "district": "LY-TB", "geo_precision": 1,
             "actors": ["LNA"], "fatalities": 3, "injuries": None, "confidence": 0.91,
             "url": "https://example.org/a?b=1&c=\"x\"", "source": "Al <i>Wasat</i>",
             "sentence": "غارة جوية على طرابلس"}
    popup = layers.event_popup(event, {"LNA": "Libyan National Army"})
    assert 'data-event="abc"' in popup and "<b>Airstrike</b> · 2019-04-05 (day)" in popup
    assert '<p dir="rtl" lang="ar"' in popup and "غارة جوية على طرابلس</p>" in popup
    assert '<span dir="rtl" lang="ar">طرابلس</span>' in popup
    assert "Libyan National Army" in popup and "3 killed" in popup and "0.91" in popup
    assert 'href="https://example.org/a?b=1&amp;c=&quot;x&quot;"' in popup
    assert "Al &lt;i&gt;Wasat&lt;/i&gt;" in popup
    for url in ("javascript:alert(1)", "data:text/html,<b>x</b>", "/etc/passwd"):
        popup = layers.event_popup({**event, "url": url, "source": None})
        assert "href" not in popup and layers.esc(url) in popup


# -- filters and errors ---------------------------------------------------------------------------
@pytest.mark.parametrize("args, keep", [
    (["--type", "armed_clash"], lambda e: e["type"] == "armed_clash"),
    (["--faction", "LNA"], lambda e: "LNA" in e["actors"] or e["controller_after"] == "LNA"),
    (["--since", "2017-01-01", "--until", "2017-12-31"],
     lambda e: e["date"] and "2017-01-01" <= e["date"] <= "2017-12-31"),
    (["--region", "LY-BA"], lambda e: e["district"] == "LY-BA"),
    (["--region", "بنغازي"], lambda e: e["district"] == "LY-BA"),
])
def test_filters_narrow_the_events(store, stored, tmp_path, args, keep):
    out = tmp_path / "map.html"
    result = run("--db", store, "-o", out, *args)
    assert result.exit_code == 0, result.output
    wanted = sorted(e["id"] for e in stored if keep(e))
    assert wanted and len(wanted) < len(stored)
    assert sorted(event_ids(render(out))) == wanted


@pytest.mark.parametrize("args, message", [
    (["--faction", "Atlantis"], "unknown faction 'Atlantis'"),
    (["--type", "picnic"], "unknown event type 'picnic'"),
    (["--region", "LY-XX"], "unknown district 'LY-XX'"),
    (["--since", "yesterday"], "not a date"),
])
def test_unknown_values_are_usage_errors(store, tmp_path, args, message):
    out = tmp_path / "map.html"
    result = run("--db", store, "-o", out, *args)
    assert result.exit_code == 2 and message in result.output
    assert not out.exists()


def test_no_matching_events_still_writes_a_map_with_a_note(store, tmp_path):
    out = tmp_path / "map.html"
    result = run("--db", store, "-o", out, "--since", "2030-01-01")
    assert result.exit_code == 0
    assert "no events match the filters" in result.stderr
    page = render(out)
    assert event_ids(page) == [] and "No events match the filters" in page
    assert "Libya (vector, no tiles)" in layer_names(page)[0]


def test_a_missing_store_is_one_clear_line(tmp_path):
    result = run("--db", tmp_path / "nope.gpkg", "-o", tmp_path / "map.html")
    assert result.exit_code == 1 and "no event store at" in result.output
    assert "Traceback" not in result.output


# -- offline ---------------------------------------------------------------------------------------
def test_offline_without_the_bundler_fails_clearly(store, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "maps.offline", None)  # import now raises ImportError
    result = run("--db", store, "-o", tmp_path / "map.html", "--offline")
    assert result.exit_code == 1
    assert result.output.startswith("Error: offline bundling is not available: ")
    assert len(result.output.strip().splitlines()) == 1


def test_offline_map_starts_on_the_vector_basemap(store, tmp_path, monkeypatch):
    seen = {}

    def fake_make_offline(page: str) -> str:
        seen["page"] = page
        return page

    fake = type(sys)("maps.offline")
    fake.make_offline = fake_make_offline
    monkeypatch.setitem(sys.modules, "maps.offline", fake)
    out = tmp_path / "map.html"
    result = run("--db", store, "-o", out, "--offline")
    assert result.exit_code == 0, result.output
    page = render(out)
    assert page == seen["page"]
    base, _ = layer_names(page)
    assert base[0] == "Libya (vector, no tiles)" and "OpenStreetMap" in base
    map_options = re.search(r"= L\.map\((.*?)\);", page, re.S).group(1)
    assert '"maxZoom": 18' in map_options  # MarkerCluster needs it; there are no tiles
    # only the vector basemap is added to the map at start; tile layers wait in the control
    vector = re.search(r'"Libya \(vector, no tiles\)" : (\w+)', page).group(1)
    assert f"{vector}.addTo(map_" in page
    for name in re.findall(r'"(?:OpenStreetMap|Light[^"]*|Satellite[^"]*)" : (\w+)', page):
        assert f"{name}.addTo(" not in page


def test_real_offline_bundle_needs_no_network(store, tmp_path):
    out = tmp_path / "map.html"
    result = run("--db", store, "-o", out, "--offline")
    assert result.exit_code == 0, result.output
    assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', render(out))


# -- builders --------------------------------------------------------------------------------------
def _events(n, event_type="shelling", same_place=False):
    return [{"id": f"{i:06x}", "type": event_type, "date": f"2019-04-{1 + i % 28:02d}",
             "lat": 32.0 if same_place else 32.0 + i * 1e-3, "lon": 13.0, "actors": [],
             "place_en": "X", "sentence": "قصف"} for i in range(n)]


def _html(element) -> str:
    import folium

    fmap = folium.Map(tiles=None, max_zoom=18)
    element.add_to(fmap)
    return fmap.get_root().render()


def test_dense_layers_cluster_and_keep_every_event():
    sparse = _html(layers.event_layers(_events(layers.CLUSTER_FROM))[0])
    dense = _html(layers.event_layers(_events(layers.CLUSTER_FROM + 1))[0])
    assert "markerClusterGroup" not in sparse and "markerClusterGroup" in dense
    assert len(event_ids(dense)) == layers.CLUSTER_FROM + 1


def test_time_layer_aggregates_by_place_and_day_when_large():
    events = _events(60, same_place=True)  # 28 distinct days at one place
    per_event = layers.time_layer(events, aggregate_from=100)
    per_day = layers.time_layer(events, aggregate_from=50)
    assert per_event.layer_name == "Time slider (60 dated events)"
    assert per_day.layer_name == "Time slider (places per day) (60 dated events)"
    assert _html(per_event).count('"times"') == 60
    assert _html(per_day).count('"times"') == 28


def test_district_counts_use_the_district_or_the_polygon():
    from maps.build import load_districts

    districts = load_districts()
    events = [{"district": "LY-TB", "lat": 32.9, "lon": 13.2},
              {"district": None, "lat": 32.12, "lon": 20.08}]  # Benghazi, by polygon
    assert layers.count_by_district(events, districts) == {"LY-TB": 1, "LY-BA": 1}


def test_rendered_html_writes_arabic_as_characters_and_keeps_markup_escapes():
    import folium

    from maps.build import render_html

    fmap = folium.Map(tiles=None)
    folium.GeoJson({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [13.18, 32.9]},
        "properties": {"t": "اشتباكات في طرابلس <script>alert(1)</script> \\u0627"}}]}
    ).add_to(fmap)
    html = render_html(fmap)
    assert "اشتباكات في طرابلس" in html
    assert "<script>alert(1)</script>" not in html  # < > stay escaped as \u003c \u003e
    assert "\\\\u0627" in html  # a literal backslash-u in the text stays literal


def test_many_events_are_aggregated_per_place_not_dropped():
    import re

    import folium

    from maps.layers import event_layers

    events = [{"id": f"e{i}", "type": "armed_clash" if i % 3 else "airstrike",
               "place_en": "Sirte" if i % 2 else "Derna", "lat": 31.2 if i % 2 else 32.76,
               "lon": 16.58 if i % 2 else 22.64, "date": f"2016-06-{1 + i % 28:02d}",
               "actors": ["GNA"], "sentence": "اشتباكات <b>في</b> سرت"} for i in range(60)]
    fmap = folium.Map(tiles=None)
    for layer in event_layers(events, aggregate_from=10):
        layer.add_to(fmap)
    html = fmap.get_root().render()
    counts = [int(n) for n in re.findall(r'data-events=\\\\?"(\d+)', html)]
    assert sum(counts) == 60 and len(counts) == 4  # 2 places x 2 types, every event counted
    assert "<b>في</b>" not in html
