"""Reading articles from files and folders, with a clear reason for every file that is skipped.

Accepted: `.txt` (UTF-8, with a fallback to Windows-1256, the common Arabic legacy encoding),
`.html`/`.htm` (tags stripped), `.json` (one article object, or a list of them) and `.jsonl`
(one per line) with the fields `{text, url, published, source, title}`. Sidecar metadata
(`NAME.meta.json` beside `NAME.txt`) and a folder's `metadata.json` are read as metadata, never
as articles.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

MAX_BYTES = 50 * 1024 * 1024  # one article file larger than this is a mistake, not news
ARTICLE_SUFFIXES = (".txt", ".json", ".jsonl", ".html", ".htm")
_ARABIC = re.compile(r"[\u0600-\u06ff]")


@dataclass(slots=True)
class Article:
    doc: str  # where it came from: a path, or path#line for JSONL
    text: str
    url: str | None = None
    published: str | None = None
    source: str | None = None
    title: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Skipped:
    doc: str
    reason: str


class _TextExtractor(HTMLParser):
    _SKIP = {"script", "style", "noscript", "head", "template", "svg"}
    _BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "article",
              "section", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    text = html.unescape("".join(parser.parts))
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()


def looks_like_html(text: str) -> bool:
    head = text[:2000].lower()
    return "<html" in head or "<!doctype html" in head or len(re.findall(r"</?(p|div|span|a)\b",
                                                                         head)) >= 3


def decode_bytes(data: bytes) -> tuple[str | None, str | None]:
    """(text, warning) or (None, reason) for bytes that are not text."""
    if not data.strip():
        return None, "empty file"
    sample = data[:65536]
    if b"\x00" in sample:
        return None, "binary file (NUL bytes); not an article"
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1256")
    except UnicodeDecodeError:
        return None, "not UTF-8 and not Windows-1256 text; re-encode it as UTF-8"
    controls = sum(1 for ch in text[:20000] if ord(ch) < 32 and ch not in "\r\n\t")
    if controls > 20 or not _ARABIC.search(text):
        return None, "not UTF-8 text (undecodable bytes); re-encode it as UTF-8"
    return text, "decoded as Windows-1256 (not UTF-8)"


def _finish(article: Article) -> Article | Skipped:
    text = article.text
    if looks_like_html(text):
        text = html_to_text(text)
        article.warnings.append("HTML markup stripped")
    text = text.replace("\r\n", "\n")
    if not text.strip():
        return Skipped(article.doc, "no text")
    if not _ARABIC.search(text):
        article.warnings.append("no Arabic text; only Latin place names can be found")
    article.text = text
    return article


def _from_record(doc: str, rec: object, meta: dict) -> Article | Skipped:
    if not isinstance(rec, dict):
        return Skipped(doc, "JSON article is not an object")
    text = rec.get("text")
    if not isinstance(text, str) or not text.strip():
        return Skipped(doc, "JSON article has no 'text'")
    pub = rec.get("published") or meta.get("published")
    return _finish(Article(doc, text, url=rec.get("url"), published=pub,
                           source=rec.get("source"), title=rec.get("title")))


def folder_metadata(folder: Path) -> dict[str, dict]:
    """A folder's metadata.json by file name; read once per folder and version of the file,
    not once per article of a large folder."""
    path = folder / "metadata.json"
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return {}
    return _read_folder_metadata(str(path), stamp)


@lru_cache(maxsize=64)
def _read_folder_metadata(path: str, stamp: int) -> dict[str, dict]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def sidecar_metadata(path: Path) -> dict:
    side = path.with_name(path.stem + ".meta.json")
    if not side.exists():
        return {}
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}


def is_metadata_file(path: Path) -> bool:
    return path.name == "metadata.json" or path.name.endswith(".meta.json")


def expand_paths(paths: list[str | Path]) -> Iterator[Path | Skipped]:
    """Files named directly, and article files found (recursively, sorted) in folders."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.suffix.lower() in ARTICLE_SUFFIXES and not is_metadata_file(f):
                    yield f
        elif p.is_file():
            yield p
        else:
            yield Skipped(str(p), "no such file or folder")


def read_file(path: Path) -> Iterator[Article | Skipped]:
    """The articles of one file."""
    doc = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            yield Skipped(doc, f"file is {size / 1e6:.0f} MB, over the {MAX_BYTES // 10**6} MB "
                               "limit for one file; split it (JSONL: one article a line)")
            return
        data = path.read_bytes()
    except OSError as exc:
        yield Skipped(doc, f"cannot read: {exc.strerror or exc}")
        return
    text, note = decode_bytes(data)
    if text is None:
        yield Skipped(doc, note or "unreadable")
        return
    meta = {**folder_metadata(path.parent).get(path.name, {}), **sidecar_metadata(path)}
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Skipped(f"{doc}#{n}", f"invalid JSON: {exc.msg}")
                continue
            yield _with_note(_from_record(f"{doc}#{n}", rec, meta), note)
        return
    if suffix == ".json":
        try:
            data_obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Skipped(doc, f"invalid JSON: {exc.msg} (line {exc.lineno})")
            return
        recs = data_obj if isinstance(data_obj, list) else [data_obj]
        for n, rec in enumerate(recs):
            d = doc if len(recs) == 1 else f"{doc}#{n + 1}"
            yield _with_note(_from_record(d, rec, meta), note)
        return
    art = Article(doc, text, url=meta.get("url"), published=meta.get("published"),
                  source=meta.get("source"), title=meta.get("title"))
    yield _with_note(_finish(art), note)


def _with_note(item: Article | Skipped, note: str | None) -> Article | Skipped:
    if note and isinstance(item, Article):
        item.warnings.insert(0, note)
    return item


def read_articles(paths: list[str | Path]) -> Iterator[Article | Skipped]:
    for p in expand_paths(paths):
        if isinstance(p, Skipped):
            yield p
        else:
            yield from read_file(p)
