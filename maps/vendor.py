"""Vendor the JavaScript/CSS assets of folium maps, for self-contained offline maps.

Run ``python -m maps.vendor`` (needs ``npm`` and access to the npm registry). It

1. renders a folium map with every plugin Marsad may use and collects the CDN URLs
   of its ``<script src>`` / ``<link href>`` tags;
2. fetches each package with ``npm pack NAME@VERSION`` into a temporary directory and
   copies only the files the map needs (minified builds where the package has them),
   plus the package's licence file, into ``maps/assets/<package>@<version>/``;
3. writes ``maps/assets/MANIFEST.json`` (CDN URL -> vendored file, package, version,
   licence) and ``maps/assets/LICENSES.md``.

It fails when folium emits a URL that is neither vendored nor deliberately left out
(``OMITTED``), so a folium upgrade cannot silently leave a map needing the network.
The ``sha256`` of every vendored file is recorded so a re-run can be diffed.

``maps.offline.make_offline`` reads the manifest; it never needs npm or the network.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
MANIFEST = ASSETS / "MANIFEST.json"
LICENSES = ASSETS / "LICENSES.md"


@dataclass
class Package:
    """One npm package: which of its files to copy and which URLs they stand for.

    ``files`` maps a path inside the package tarball (below ``package/``) to the path
    under ``maps/assets/<dirname>/``; relative layout between a stylesheet and the
    images/fonts it references is kept so ``url(...)`` resolves against the copy.
    ``urls`` maps a CDN URL to the destination path (a key of ``files``' values).
    ``aliases`` maps absolute URLs referenced *inside* a stylesheet to a vendored file.
    """

    name: str
    version: str
    files: dict[str, str]
    urls: dict[str, str]
    license_file: str
    aliases: dict[str, str] = field(default_factory=dict)
    note: str = ""

    @property
    def dirname(self) -> str:
        # "@fortawesome/fontawesome-free" -> "fontawesome-free@6.2.0"
        return f"{self.name.rsplit('/', 1)[-1]}@{self.version}"


NPM = "https://cdn.jsdelivr.net/npm"
CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"

PACKAGES: list[Package] = [
    Package(
        "leaflet", "1.9.3",
        files={"dist/leaflet.js": "leaflet.js", "dist/leaflet.css": "leaflet.css",
               "dist/images/layers.png": "images/layers.png",
               "dist/images/layers-2x.png": "images/layers-2x.png",
               "dist/images/marker-icon.png": "images/marker-icon.png",
               "dist/images/marker-icon-2x.png": "images/marker-icon-2x.png",
               "dist/images/marker-shadow.png": "images/marker-shadow.png"},
        urls={f"{NPM}/leaflet@1.9.3/dist/leaflet.js": "leaflet.js",
              f"{NPM}/leaflet@1.9.3/dist/leaflet.css": "leaflet.css"},
        license_file="LICENSE"),
    Package(
        "jquery", "3.7.1",
        files={"dist/jquery.min.js": "jquery.min.js"},
        urls={"https://code.jquery.com/jquery-3.7.1.min.js": "jquery.min.js",
              f"{CDNJS}/jquery/3.7.1/jquery.min.js": "jquery.min.js"},
        license_file="LICENSE.txt"),
    Package(
        "bootstrap", "5.2.2",
        files={"dist/js/bootstrap.bundle.min.js": "js/bootstrap.bundle.min.js",
               "dist/css/bootstrap.min.css": "css/bootstrap.min.css"},
        urls={f"{NPM}/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": "js/bootstrap.bundle.min.js",
              f"{NPM}/bootstrap@5.2.2/dist/css/bootstrap.min.css": "css/bootstrap.min.css"},
        license_file="LICENSE"),
    Package(
        "@fortawesome/fontawesome-free", "6.2.0",
        # Only the woff2 fonts: every browser that runs Leaflet 1.9 reads woff2; the
        # stylesheet's .ttf fallbacks are dropped from @font-face by make_offline.
        files={"css/all.min.css": "css/all.min.css",
               "webfonts/fa-brands-400.woff2": "webfonts/fa-brands-400.woff2",
               "webfonts/fa-regular-400.woff2": "webfonts/fa-regular-400.woff2",
               "webfonts/fa-solid-900.woff2": "webfonts/fa-solid-900.woff2",
               "webfonts/fa-v4compatibility.woff2": "webfonts/fa-v4compatibility.woff2"},
        urls={f"{NPM}/@fortawesome/fontawesome-free@6.2.0/css/all.min.css": "css/all.min.css"},
        license_file="LICENSE.txt",
        note="woff2 fonts only; the .ttf fallbacks are not vendored"),
    Package(
        "leaflet.awesome-markers", "2.0.5",
        files={"dist/leaflet.awesome-markers.min.js": "leaflet.awesome-markers.min.js",
               "dist/leaflet.awesome-markers.css": "leaflet.awesome-markers.css",
               "dist/images/markers-soft.png": "images/markers-soft.png",
               "dist/images/markers-soft@2x.png": "images/markers-soft@2x.png",
               "dist/images/markers-shadow.png": "images/markers-shadow.png",
               "dist/images/markers-shadow@2x.png": "images/markers-shadow@2x.png"},
        urls={f"{CDNJS}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js":
              "leaflet.awesome-markers.min.js",
              f"{CDNJS}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css":
              "leaflet.awesome-markers.css"},
        license_file="LICENSE",
        note="folium asks for 2.0.2, which is not on npm; 2.0.5 is the closest release there"),
    Package(
        "leaflet.markercluster", "1.1.0",
        files={"dist/leaflet.markercluster.js": "leaflet.markercluster.js",
               "dist/MarkerCluster.css": "MarkerCluster.css",
               "dist/MarkerCluster.Default.css": "MarkerCluster.Default.css"},
        urls={f"{CDNJS}/leaflet.markercluster/1.1.0/leaflet.markercluster.js": "leaflet.markercluster.js",
              f"{CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.css": "MarkerCluster.css",
              f"{CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.Default.css": "MarkerCluster.Default.css"},
        license_file="MIT-LICENCE.txt"),
    Package(
        "jquery-ui-dist", "1.12.1",
        files={"jquery-ui.min.js": "jquery-ui.min.js"},
        urls={f"{CDNJS}/jqueryui/1.10.2/jquery-ui.min.js": "jquery-ui.min.js"},
        license_file="LICENSE.txt",
        note="folium asks for jQuery UI 1.10.2, which has no built file on npm; "
             "jquery-ui-dist 1.12.1 is the oldest built release there"),
    Package(
        "iso8601-js-period", "0.2.1",
        files={"iso8601.js": "iso8601.js"},
        urls={f"{NPM}/iso8601-js-period@0.2.1/iso8601.min.js": "iso8601.js"},
        license_file="",  # no licence file in the package; package.json says Apache-2.0
        note="the package ships no minified build (the CDN minifies on the fly); vendored unminified (8 kB)"),
    Package(
        "leaflet-timedimension", "1.1.1",
        files={"dist/leaflet.timedimension.min.js": "leaflet.timedimension.min.js",
               "dist/leaflet.timedimension.control.min.css": "leaflet.timedimension.control.min.css"},
        urls={f"{NPM}/leaflet-timedimension@1.1.1/dist/leaflet.timedimension.min.js":
              "leaflet.timedimension.min.js",
              f"{NPM}/leaflet-timedimension@1.1.1/dist/leaflet.timedimension.control.css":
              "leaflet.timedimension.control.min.css"},
        license_file="LICENSE"),
    Package(
        "moment", "2.18.1",
        files={"min/moment.min.js": "moment.min.js"},
        urls={f"{CDNJS}/moment.js/2.18.1/moment.min.js": "moment.min.js"},
        license_file="LICENSE"),
    Package(
        "d3", "4.13.0",
        files={"build/d3.min.js": "d3.min.js"},
        urls={"https://d3js.org/d3.v4.min.js": "d3.min.js"},
        license_file="LICENSE",
        note="d3js.org/d3.v4.min.js serves the last 4.x release, 4.13.0"),
    Package(
        "d3", "3.5.5",
        files={"d3.min.js": "d3.min.js"},
        urls={f"{CDNJS}/d3/3.5.5/d3.min.js": "d3.min.js"},
        license_file="LICENSE",
        note="used by branca colormap legends"),
    Package(
        "leaflet.fullscreen", "3.0.0",
        files={"Control.FullScreen.js": "Control.FullScreen.js",
               "Control.FullScreen.css": "Control.FullScreen.css",
               "icon-fullscreen.svg": "icon-fullscreen.svg"},
        urls={f"{NPM}/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js": "Control.FullScreen.js",
              f"{NPM}/leaflet.fullscreen@3.0.0/Control.FullScreen.css": "Control.FullScreen.css"},
        license_file="LICENSE",
        note="the package ships no minified build (the CDN minifies on the fly); vendored unminified (8 kB)"),
    Package(
        "highlight.js", "8.4.0",
        files={"styles/default.css": "styles/default.css"},
        urls={f"{CDNJS}/highlight.js/8.4/styles/default.min.css": "styles/default.css"},
        license_file="LICENSE",
        note="stylesheet only (used by TimestampedGeoJson); unminified, 3 kB"),
    Package(
        "bootstrap", "3.1.1",
        # leaflet.timedimension.control.css draws its play/pause/... buttons with the
        # Glyphicons Halflings font, referenced by absolute netdna URLs of Bootstrap
        # 3.0.0 (not on npm). 3.1.1 is the oldest Bootstrap 3 on npm; the glyphs the
        # time control uses exist unchanged in it. Only the woff is vendored.
        files={"dist/fonts/glyphicons-halflings-regular.woff": "fonts/glyphicons-halflings-regular.woff"},
        urls={},
        aliases={"https://netdna.bootstrapcdn.com/bootstrap/3.0.0/fonts/glyphicons-halflings-regular.woff":
                 "fonts/glyphicons-halflings-regular.woff"},
        license_file="LICENSE",
        note="only the Glyphicons Halflings woff font, for the TimeDimension control buttons"),
]

# Files that come with the installed folium package itself (not on npm in this form).
FOLIUM_FILES = [
    {
        "url": "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js",
        "source": "templates/leaflet_heat.min.js",
        "file": "leaflet_heat.min.js",
        "package": "leaflet.heat (patched copy shipped in folium)",
        "license": "BSD-2-Clause (Leaflet.heat, simpleheat (c) Vladimir Agafonkin); folium: MIT",
        "note": "folium's copy of Leaflet.heat 0.2.0 with the weights fix of Leaflet.heat PR #78; "
                "taken from the installed folium package, which is the file the URL serves",
    },
]

# URLs folium emits that are deliberately not vendored: make_offline drops their tags.
OMITTED = {
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css":
        "Bootstrap 3.0.0's separate glyphicons stylesheet is not on npm. Without it folium.Icon "
        "markers with the default prefix='glyphicon' show the marker but no glyph: use "
        "prefix='fa' (Font Awesome, vendored) in offline maps.",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css":
        "folium's stylesheet for rotated awesome-marker icons is only in folium's repository, "
        "not in the installed package nor on npm. Without it, Icon(angle=...) is not rotated.",
}


def _sample_map_html() -> str:
    """A map with every folium feature/plugin Marsad uses, rendered to HTML.

    Keep it in step with maps/layers.py and maps/build.py: whatever they add to a map
    (plugins, branca colormaps, icons) must appear here so its URLs get vendored."""
    import folium
    from folium import plugins

    fmap = folium.Map(location=[27.0, 17.0], zoom_start=5, tiles=None, max_zoom=12)
    fmap.options["max_zoom"] = 12  # folium gives max_zoom only to its default tile layer
    group = folium.FeatureGroup(name="markers").add_to(fmap)
    cluster = plugins.MarkerCluster().add_to(group)
    folium.Marker([32.9, 13.2]).add_to(cluster)
    folium.Marker([32.1, 20.1], icon=folium.Icon(icon="info-sign")).add_to(cluster)
    folium.Marker([31.2, 16.6], icon=folium.Icon(icon="star", prefix="fa")).add_to(group)
    plugins.HeatMap([[32.9, 13.2, 1.0]], name="heat").add_to(fmap)
    points = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.2, 32.9]},
         "properties": {"times": ["2024-01-01"]}}]}
    plugins.TimestampedGeoJson(points).add_to(fmap)
    poly = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "0", "properties": {},
         "geometry": {"type": "Polygon", "coordinates": [[[13, 32], [14, 32], [14, 33], [13, 32]]]}}]}
    plugins.TimeSliderChoropleth(poly, styledict={"0": {"1704067200": {"color": "red", "opacity": 1}}}).add_to(fmap)
    folium.GeoJson(poly, name="geojson").add_to(fmap)
    import branca.colormap as cm
    cm.LinearColormap(["#fff7ec", "#7f0000"], vmin=0, vmax=10, caption="legend").add_to(fmap)
    folium.Marker([30.0, 19.0], icon=folium.DivIcon(html="<b>x</b>")).add_to(fmap)
    plugins.Fullscreen().add_to(fmap)
    folium.LayerControl().add_to(fmap)
    return fmap.get_root().render()


def collect_urls(html: str) -> list[str]:
    """The external script and stylesheet URLs of a rendered page, in page order."""
    from maps.offline import external_refs

    seen: dict[str, None] = {}
    for _, url in external_refs(html):
        seen.setdefault(url, None)
    return list(seen)


def _npm_pack(spec: str, workdir: Path) -> Path:
    out = subprocess.run(["npm", "pack", spec, "--silent", "--pack-destination", str(workdir)],
                         check=True, capture_output=True, text=True, cwd=workdir)
    name = out.stdout.strip().splitlines()[-1]
    return workdir / name


def _package_json(tar: tarfile.TarFile) -> dict:
    return json.load(tar.extractfile("package/package.json"))


def _licence_name(meta: dict) -> str:
    lic = meta.get("license") or meta.get("licenses")
    if isinstance(lic, list):
        return " OR ".join(x.get("type", "?") if isinstance(x, dict) else str(x) for x in lic)
    if isinstance(lic, dict):
        return lic.get("type", "?")
    return str(lic)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vendor(check_only: bool = False) -> dict:
    import folium

    urls = collect_urls(_sample_map_html())
    known = {u for p in PACKAGES for u in p.urls} | {f["url"] for f in FOLIUM_FILES} | set(OMITTED)
    missing = [u for u in urls if u not in known]
    if missing:
        raise SystemExit("folium emits URLs that are neither vendored nor omitted; add them to "
                         "maps/vendor.py:\n  " + "\n  ".join(missing))
    if check_only:
        return {}

    if ASSETS.exists():
        for child in ASSETS.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
    ASSETS.mkdir(parents=True, exist_ok=True)

    assets: dict[str, dict] = {}
    aliases: dict[str, dict] = {}
    licences: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        for pkg in PACKAGES:
            tgz = _npm_pack(f"{pkg.name}@{pkg.version}", tmpdir)
            dest = ASSETS / pkg.dirname
            with tarfile.open(tgz) as tar:
                meta = _package_json(tar)
                if meta.get("version") != pkg.version:
                    raise SystemExit(f"npm gave {pkg.name}@{meta.get('version')}, wanted {pkg.version}")
                licence = _licence_name(meta)
                copied = list(pkg.files.items())
                if pkg.license_file:
                    copied.append((pkg.license_file, pkg.license_file))
                for src, dst in copied:
                    data = tar.extractfile(f"package/{src}").read()
                    target = dest / dst
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
            licences.append({"package": pkg.name, "version": pkg.version, "license": licence,
                             "dir": pkg.dirname, "license_file": pkg.license_file,
                             "note": pkg.note, "source": f"npm pack {pkg.name}@{pkg.version}"})
            for url, dst in pkg.urls.items():
                assets[url] = {"file": f"{pkg.dirname}/{dst}", "package": pkg.name,
                               "version": pkg.version, "license": licence, "source": "npm",
                               "sha256": _sha256(dest / dst)}
            for url, dst in pkg.aliases.items():
                aliases[url] = {"file": f"{pkg.dirname}/{dst}", "package": pkg.name,
                                "version": pkg.version, "license": licence, "source": "npm",
                                "sha256": _sha256(dest / dst)}

    folium_dir = Path(folium.__file__).resolve().parent
    dest = ASSETS / f"folium@{folium.__version__}"
    for item in FOLIUM_FILES:
        target = dest / item["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folium_dir / item["source"], target)
        assets[item["url"]] = {"file": f"folium@{folium.__version__}/{item['file']}",
                               "package": item["package"], "version": folium.__version__,
                               "license": item["license"], "source": "installed folium package",
                               "sha256": _sha256(target)}
        licences.append({"package": item["package"], "version": f"folium {folium.__version__}",
                         "license": item["license"], "dir": dest.name, "license_file": "",
                         "note": item["note"], "source": "installed folium package"})

    manifest = {
        "generated_by": "python -m maps.vendor",
        "folium_version": folium.__version__,
        "urls_emitted_by_folium": urls,
        "assets": assets,
        "css_url_aliases": aliases,
        "omitted": OMITTED,
        "leaflet_default_icon": {
            "iconUrl": "leaflet@1.9.3/images/marker-icon.png",
            "iconRetinaUrl": "leaflet@1.9.3/images/marker-icon-2x.png",
            "shadowUrl": "leaflet@1.9.3/images/marker-shadow.png",
        },
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    LICENSES.write_text(_licences_md(licences, assets, aliases), encoding="utf-8")
    return manifest


def _licences_md(licences: list[dict], assets: dict, aliases: dict) -> str:
    lines = [
        "# Vendored map assets and their licences",
        "",
        "Generated by `python -m maps.vendor`; do not edit by hand. These files are inlined",
        "into maps written with `--offline` (see `maps/offline.py`). Each package's own",
        "licence file is copied next to its files (column *Licence file*).",
        "",
        "| Package | Version | Licence | Directory | Licence file | Source | Note |",
        "|---|---|---|---|---|---|---|",
    ]
    for item in licences:
        lines.append(f"| {item['package']} | {item['version']} | {item['license']} | "
                     f"`{item['dir']}` | {('`' + item['license_file'] + '`') if item['license_file'] else '-'} | "
                     f"{item['source']} | {item['note']} |")
    lines += ["", "## URLs folium emits and the vendored file used for each", ""]
    for url, a in sorted(assets.items()):
        lines.append(f"- `{url}` -> `{a['file']}`")
    for url, a in sorted(aliases.items()):
        lines.append(f"- `{url}` (referenced from a stylesheet) -> `{a['file']}`")
    lines += ["", "## Left out", ""]
    for url, reason in OMITTED.items():
        lines.append(f"- `{url}`: {reason}")
    lines += [
        "- Font Awesome's `.ttf` fallbacks and Glyphicons' `.eot/.ttf/.svg` fallbacks: only",
        "  woff2/woff are vendored; `make_offline` drops the other `@font-face` sources.",
        "- iso8601-js-period 0.2.1 ships no licence file; its package.json declares Apache-2.0.",
        "- Map tiles are not assets: a tile layer in an offline map still needs the network.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="only check that every URL folium emits is vendored or omitted")
    args = ap.parse_args()
    manifest = vendor(check_only=args.check)
    if args.check:
        print("ok: every URL folium emits is covered")
        return
    total = sum(p.stat().st_size for p in ASSETS.rglob("*") if p.is_file())
    print(f"vendored {len(manifest['assets'])} URLs into {ASSETS} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
