"""Screenshot an offline map in headless Chromium, with the network blocked.

    python -m maps.screenshot                      # seeds/ -> docs/seeds_map.png
    python -m maps.screenshot --html map.html -o map.png

Needs Debian's chromium (``bash scripts/install_browser.sh``) and ``pip install playwright``
(the ``test`` extra). Playwright drives /usr/bin/chromium; ``playwright install`` is never
needed. ``browser_page`` is shared with tests/test_offline_map.py.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class PageLog:
    """What a page did: console errors, uncaught exceptions, network requests."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked: list[tuple[str, str]] = field(default_factory=list)  # (resource type, url)
    requests: list[tuple[str, str]] = field(default_factory=list)

    @property
    def network(self) -> list[tuple[str, str]]:
        return [(t, u) for t, u in self.requests if u.lower().startswith(("http://", "https://"))]


@contextlib.contextmanager
def browser_page(width: int = 1200, height: int = 800):
    """(page, log) in a fresh headless Chromium profile; every http(s) request is aborted."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="marsad-chromium-")
    log = PageLog()
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": width, "height": height}, service_workers="block")
            try:
                def route(r):
                    url = r.request.url
                    if url.lower().startswith(("http://", "https://")):
                        log.blocked.append((r.request.resource_type, url))
                        r.abort()
                    else:
                        r.continue_()

                context.route("**/*", route)
                page = context.pages[0] if context.pages else context.new_page()
                page.on("console", lambda m: log.console_errors.append(m.text)
                        if m.type == "error" else None)
                page.on("pageerror", lambda e: log.page_errors.append(str(e)))
                page.on("request", lambda r: log.requests.append((r.resource_type, r.url)))
                yield page, log
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def open_map(page, html_path: Path) -> str:
    """Load a folium page and wait until its map exists; the map's global JS name."""
    page.goto(Path(html_path).resolve().as_uri(), wait_until="load")
    page.wait_for_function("Object.keys(window).some(k => k.startsWith('map_'))", timeout=15000)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_timeout(500)  # clusters, heat canvas and legends draw after load
    return page.evaluate("Object.keys(window).filter(k => k.startsWith('map_'))[0]")


def seeds_map(out_html: Path, workdir: Path) -> str:
    """`marsad map --offline` on a store built from copies of seeds/; the command's output."""
    from click.testing import CliRunner

    from gazetteer.load import load_gazetteer
    from geo.cli import main
    from geo.ingest import ingest

    copies = workdir / "seeds"
    copies.mkdir(parents=True, exist_ok=True)
    for f in sorted((ROOT / "seeds").iterdir()):
        if f.is_file():
            shutil.copy(f, copies / f.name)
    db = workdir / "events.gpkg"
    ingest(sorted(copies.iterdir()), db, load_gazetteer())
    result = CliRunner().invoke(main, ["map", "--db", str(db), "--offline", "-o", str(out_html)])
    if result.exit_code != 0:
        raise RuntimeError(f"marsad map failed: {result.output}")
    return result.output


def main() -> None:
    ap = argparse.ArgumentParser(description="Screenshot an offline map with the network blocked.")
    ap.add_argument("--html", help="offline map to open (default: build one from seeds/)")
    ap.add_argument("-o", "--output", default=str(ROOT / "docs" / "seeds_map.png"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(args.html) if args.html else Path(tmp) / "seeds_map.html"
        if not args.html:
            print(seeds_map(html, Path(tmp)).strip(), file=sys.stderr)
        with browser_page() as (page, log):
            open_map(page, html)
            Path(args.output).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.output)
        for label, items in (("console errors", log.console_errors), ("page errors", log.page_errors),
                             ("blocked network requests", log.blocked)):
            if items:
                print(f"{label}: {items}", file=sys.stderr)
    print(args.output)


if __name__ == "__main__":
    main()
