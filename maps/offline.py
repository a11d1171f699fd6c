"""Self-contained offline maps: inline every script and stylesheet a folium page loads.

``make_offline(html)`` takes the HTML folium renders (``fmap.get_root().render()``) and
returns one HTML file that renders with no network:

* each ``<script src=URL>`` / ``<link rel=stylesheet href=URL>`` whose URL is in
  ``maps/assets/MANIFEST.json`` becomes an inline ``<script>`` / ``<style>`` holding
  the vendored file (see ``maps/vendor.py``, which fetched them from npm);
* inside the inlined CSS, every ``url(...)`` (images, icons, fonts) becomes a base64
  ``data:`` URI of the vendored file; ``@font-face`` sources that are not vendored
  (e.g. ``.ttf``/``.eot`` fallbacks of a vendored ``.woff2``) are dropped;
* Leaflet's default marker icon is set to data URIs (``L.Icon.Default``), since its
  path detection cannot work on a data URI;
* the tags of URLs the manifest lists as deliberately omitted are removed;
* any other external (http, https or protocol-relative) script or stylesheet raises
  ``OfflineError`` naming the URL, so nothing silently needs the network.

Tile layers are left alone: ``<img>`` tiles are requested by Leaflet at run time, so a
map with a tile layer still shows its base map only when online (build offline maps
with ``tiles=None`` for a fully offline page; markers and shapes render either way).
"""

from __future__ import annotations

import base64
import html as htmllib
import json
import mimetypes
import re
from functools import lru_cache
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
MANIFEST = ASSETS / "MANIFEST.json"

MIME = {
    ".png": "image/png", ".gif": "image/gif", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml", ".webp": "image/webp", ".ico": "image/x-icon",
    ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf", ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject", ".css": "text/css", ".js": "text/javascript",
}


class OfflineError(ValueError):
    """The page references something that is not vendored and would need the network."""


@lru_cache(maxsize=1)
def load_manifest() -> dict:
    if not MANIFEST.exists():
        raise OfflineError(f"{MANIFEST} is missing: run `python -m maps.vendor`")
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


# --- finding tags -------------------------------------------------------------------

# One pass over the page in document order: a <link> or url() inside a script or an
# HTML comment is text, not a reference, so elements are matched whole.
_TAG_RE = re.compile(
    r"(?P<comment><!--.*?-->)"
    r"|(?P<script><script\b(?P<sattrs>[^>]*)>(?P<sbody>.*?)</script\s*>)"
    r"|(?P<style><style\b[^>]*>(?P<cbody>.*?)</style\s*>)"
    r"|(?P<link><link\b(?P<lattrs>[^>]*?)/?>)",
    re.I | re.S)
_ATTR_RE = re.compile(r"""([\w:-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""", re.S)
_LOADING_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "import"}


def _attrs(text: str) -> dict[str, str]:
    out = {}
    for m in _ATTR_RE.finditer(text):
        value = next((v for v in m.group(2, 3, 4) if v is not None), "")
        out[m.group(1).lower()] = htmllib.unescape(value)
    return out


def is_external(url: str) -> bool:
    u = url.strip().lower()
    return u.startswith(("http://", "https://", "//"))


def _absolute(url: str) -> str:
    url = url.strip()
    return "https:" + url if url.startswith("//") else url


def external_refs(html: str) -> list[tuple[str, str]]:
    """(kind, url) of every external ``<script src>`` and loading ``<link href>``."""
    found = []
    for m in _TAG_RE.finditer(html):
        if m.group("script"):
            src = _attrs(m.group("sattrs")).get("src")
            if src and is_external(src):
                found.append(("script", src.strip()))
        elif m.group("link"):
            attrs = _attrs(m.group("lattrs"))
            rels = set(attrs.get("rel", "").lower().split())
            href = attrs.get("href")
            if href and is_external(href) and rels & _LOADING_RELS:
                found.append(("link", href.strip()))
    return found


# --- files and data URIs ----------------------------------------------------------------

def _asset_path(rel: str) -> Path:
    path = (ASSETS / rel).resolve()
    if ASSETS.resolve() not in path.parents or not path.is_file():
        raise OfflineError(f"vendored file missing: maps/assets/{rel} (run `python -m maps.vendor`)")
    return path


@lru_cache(maxsize=256)
def data_uri(rel: str) -> str:
    path = _asset_path(rel)
    mime = MIME.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


# --- CSS ------------------------------------------------------------------------------

_URL_RE = re.compile(r"""url\(\s*(?P<q>['"]?)(?P<url>.*?)(?P=q)\s*\)""", re.I | re.S)
_FONT_FACE_RE = re.compile(r"@font-face\s*\{(?P<body>[^}]*)\}", re.I | re.S)
_SRC_DECL_RE = re.compile(r"(?P<prop>\bsrc\s*:\s*)(?P<value>[^;}]*)(?P<end>;?)", re.I)


def _resolve_css_url(url: str, css_file: str, manifest: dict) -> str | None:
    """The vendored file (relative to assets/) a url() in ``css_file`` points to, or None."""
    url = url.strip()
    if is_external(url):
        entry = manifest.get("css_url_aliases", {}).get(_absolute(url).split("?")[0].split("#")[0])
        return entry["file"] if entry else None
    bare = url.split("?")[0].split("#")[0]
    if not bare:
        return None
    base = Path(css_file).parent
    parts: list[str] = []
    for piece in (base / bare).as_posix().split("/"):
        if piece == "..":
            if not parts:
                return None
            parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    rel = "/".join(parts)
    return rel if (ASSETS / rel).is_file() else None


def _split_top_level(value: str) -> list[str]:
    """Split a CSS value on commas that are not inside parentheses or quotes."""
    items, depth, quote, cur = [], 0, "", []
    for ch in value:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    items.append("".join(cur))
    return [i for i in (s.strip() for s in items) if i]


def _font_face(block: re.Match, css_file: str, manifest: dict) -> str:
    """Keep only the @font-face sources that are vendored (as data URIs)."""
    def fix_src(m: re.Match) -> str:
        kept = []
        for item in _split_top_level(m.group("value")):
            u = _URL_RE.search(item)
            if not u:  # local(...) and the like need no network
                kept.append(item)
                continue
            if u.group("url").strip().lower().startswith("data:"):
                kept.append(item)
                continue
            rel = _resolve_css_url(u.group("url"), css_file, manifest)
            if rel is not None:
                kept.append(item[:u.start()] + f'url("{data_uri(rel)}")' + item[u.end():])
        return f"{m.group('prop')}{', '.join(kept)}{m.group('end')}" if kept else ""

    body = _SRC_DECL_RE.sub(fix_src, block.group("body"))
    return "@font-face{" + body + "}"


def inline_css(css: str, css_file: str, manifest: dict | None = None) -> str:
    """CSS with every url() turned into a data: URI of a vendored file.

    ``css_file`` is the stylesheet's path under ``maps/assets``; relative url()s are
    resolved against it. Raises OfflineError for a url() that is not vendored (outside
    @font-face, where unvendored alternatives are simply dropped)."""
    manifest = manifest or load_manifest()
    css = _FONT_FACE_RE.sub(lambda b: _font_face(b, css_file, manifest), css)

    def fix(m: re.Match) -> str:
        url = m.group("url").strip()
        if not url or url.lower().startswith("data:") or url.startswith("#"):
            return m.group(0)  # inline already, or an IE behaviour like url(#default#VML)
        rel = _resolve_css_url(url, css_file, manifest)
        if rel is None:
            raise OfflineError(f"stylesheet {css_file} references {url}, which is not vendored")
        return f'url("{data_uri(rel)}")'

    return _URL_RE.sub(fix, css)


# --- the page ---------------------------------------------------------------------------

def _script_text(rel: str) -> str:
    text = _asset_path(rel).read_text(encoding="utf-8")
    if "<!--" in text:  # could switch the HTML parser into "script data escaped" state
        raise OfflineError(f"maps/assets/{rel} contains '<!--', cannot inline it safely")
    # Nothing inside may end the inline <script> element early.
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.I)


def _style_text(rel: str, manifest: dict) -> str:
    css = inline_css(_asset_path(rel).read_text(encoding="utf-8"), rel, manifest)
    if re.search(r"</style", css, re.I):
        raise OfflineError(f"{rel} contains '</style', cannot inline it")
    return css


def _default_icon_script(manifest: dict) -> str:
    icon = manifest["leaflet_default_icon"]
    opts = ",".join(f"{k}:{json.dumps(data_uri(v))}" for k, v in icon.items())
    # imagePath "" (a string) stops Leaflet from guessing a path from the CSS, which
    # fails on a data: URI; the options then carry the full data URIs.
    return ("<script>if(window.L&&L.Icon&&L.Icon.Default){L.Icon.Default.imagePath=\"\";"
            f"L.Icon.Default.mergeOptions({{{opts}}});}}</script>")


def make_offline(html: str) -> str:
    """Return ``html`` with every vendored script/stylesheet inlined (see module doc)."""
    manifest = load_manifest()
    assets = manifest["assets"]
    omitted = manifest.get("omitted", {})
    leaflet_js = {a["file"] for a in assets.values() if a["package"] == "leaflet" and a["file"].endswith(".js")}
    inlined: set[str] = set()  # vendored files already in the page

    def script(m: re.Match) -> str:
        src = (_attrs(m.group("sattrs")).get("src") or "").strip()
        if not src or not is_external(src):
            return m.group(0)
        url = _absolute(src)
        if url in omitted:
            return f"<!-- offline: left out {htmllib.escape(url)} -->"
        if url not in assets:
            raise OfflineError(f"script {src} is not vendored (see maps/vendor.py); "
                               "it would need the network")
        rel = assets[url]["file"]
        if rel in inlined:  # the same file under two URLs (jQuery from two CDNs)
            return f"<!-- offline: {htmllib.escape(url)} already inlined as maps/assets/{rel} -->"
        inlined.add(rel)
        out = f"<script>/* {htmllib.escape(url)} (maps/assets/{rel}) */\n{_script_text(rel)}\n</script>"
        if rel in leaflet_js:
            out += _default_icon_script(manifest)
        return out

    def link(m: re.Match) -> str:
        attrs = _attrs(m.group("lattrs"))
        rels = set(attrs.get("rel", "").lower().split())
        href = (attrs.get("href") or "").strip()
        if not href or not is_external(href) or not rels & _LOADING_RELS:
            return m.group(0)
        url = _absolute(href)
        if url in omitted:
            return f"<!-- offline: left out {htmllib.escape(url)} -->"
        if url not in assets or "stylesheet" not in rels:
            raise OfflineError(f"stylesheet {href} is not vendored (see maps/vendor.py); "
                               "it would need the network")
        rel = assets[url]["file"]
        if rel in inlined:
            return f"<!-- offline: {htmllib.escape(url)} already inlined -->"
        inlined.add(rel)
        return f"<style>/* {htmllib.escape(url)} (maps/assets/{rel}) */\n{_style_text(rel, manifest)}\n</style>"

    def style(m: re.Match) -> str:
        body = m.group("cbody")
        for u in _URL_RE.finditer(body):
            if is_external(u.group("url")):
                raise OfflineError(f"inline style references {u.group('url').strip()}, "
                                   "which needs the network")
        imp = re.search(r"""@import\s+(?:url\()?\s*['"]?((?:https?:)?//[^'")\s;]+)""", body, re.I)
        if imp:
            raise OfflineError(f"inline style imports {imp.group(1)}, which needs the network")
        return m.group(0)

    def tag(m: re.Match) -> str:
        if m.group("script"):
            return script(m)
        if m.group("link"):
            return link(m)
        if m.group("style"):
            return style(m)
        return m.group(0)

    out = _TAG_RE.sub(tag, html)
    left = external_refs(out)
    if left:
        raise OfflineError(f"external {left[0][0]} {left[0][1]} remains; it would need the network")
    return out
