"""The factions lexicon: who a phrase in Arabic news refers to, in the year the article was written.

Names in the Libyan conflict change owners: "الجيش الوطني" was the rebels' army in some 2011
reports and Haftar's forces from Operation Dignity (May 2014); "باشاغا" was the GNA's interior
minister in 2019 and the head of a rival government in 2022. So every alias in
`geo/data/factions.json` carries the years in which it means its faction, and `find_actors` only
uses the aliases that are valid in the article's year.

Matching works like place recognition in `geo.resolve`: a longest match over normalised word
n-grams, the first word read with and without its proclitics (لحفتر, وقوات الوفاق,
بالمجلس الرئاسي), never inside a longer word, offsets into the original text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from geo.text import normalize_name, proclitic_splits, tokenize

DEFAULT_PATH = Path(__file__).parent / "data" / "factions.json"

KINDS = frozenset({"state_force", "armed_group", "coalition", "foreign_state", "foreign_force",
                   "jihadist", "tribal_or_ethnic", "civilian", "international_org",
                   "legislature"})

# With no article year every alias is possible, but none is as sure as in its own years.
UNKNOWN_YEAR_FACTOR = 0.8

# Years outside this range are typos (2104 for 2014), not history.
MIN_YEAR, MAX_YEAR = 1900, 2100

_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_ARABIC_RE = re.compile(r"[\u0600-\u06FF]")
# Words of a multi-word alias may be separated by spaces, a tatweel or hyphen, or quotes
# (قوات «فجر ليبيا»), but not by punctuation or a line break, which ends a sentence
# (geo.text.split_sentences) as it does for place names in geo.resolve.
# fullmatch, not ^...$: `$` also matches before a final "\n".
_GAP_OK = re.compile(r'[ \u00a0\t\-ـ«»"“”„\'‘’]*')

_FACTION_KEYS = {"id", "name_en", "name_ar", "kind", "description", "aliases"}
_ALIAS_KEYS = {"ar", "from", "to", "confidence", "note"}


@dataclass(frozen=True, slots=True)
class Alias:
    faction_id: str
    ar: str  # as written in the data file
    key: str  # normalised words joined by single spaces
    year_from: int | None
    year_to: int | None
    confidence: float
    note: str

    def valid_in(self, year: int) -> bool:
        return ((self.year_from is None or self.year_from <= year)
                and (self.year_to is None or year <= self.year_to))


@dataclass(frozen=True, slots=True)
class Faction:
    id: str
    name_en: str
    name_ar: str
    kind: str
    description: str
    aliases: tuple[Alias, ...]


@dataclass(frozen=True, slots=True)
class ActorMention:
    faction_id: str
    text: str  # == original_text[start:end], proclitics included (لحفتر)
    start: int
    end: int
    confidence: float
    alias: str  # the alias as written in the data file


class Factions:
    """The validated lexicon with an index for matching. Build it with `load_factions`."""

    def __init__(self, factions: list[Faction]):
        self._factions = {f.id: f for f in factions}
        self._by_key: dict[str, list[Alias]] = {}
        self._max_len_by_first: dict[str, int] = {}
        for faction in factions:
            for alias in faction.aliases:
                self._by_key.setdefault(alias.key, []).append(alias)
                words = alias.key.split(" ")
                n = len(words)
                if n > self._max_len_by_first.get(words[0], 0):
                    self._max_len_by_first[words[0]] = n
        # per word form: its readings (prefix letters, stem, longest alias starting with stem)
        self._word_cache: dict[str, tuple[tuple[int, str, int], ...]] = {}
        # per (alias key, year): the winning alias and its confidence, or None
        self._best_cache: dict[tuple[str, int | None], tuple[Alias, float] | None] = {}

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._factions)

    def get(self, faction_id: str) -> Faction | None:
        return self._factions.get(faction_id)

    def __iter__(self):
        return iter(self._factions.values())

    def __len__(self) -> int:
        return len(self._factions)

    def __contains__(self, faction_id: object) -> bool:
        return faction_id in self._factions

    # -- matching ----------------------------------------------------------------------------
    def _readings(self, form: str) -> tuple[tuple[int, str, int], ...]:
        """Readings of one word form that can start an alias. News vocabulary repeats, so this
        is cached per form."""
        readings = self._word_cache.get(form)
        if readings is None:
            first = self._max_len_by_first
            splits = ((0, form),) if form.isascii() else _splits(form)
            readings = tuple((n, stem, first[stem]) for n, stem in splits if stem in first)
            if len(self._word_cache) > 500_000:
                self._word_cache.clear()
            self._word_cache[form] = readings
        return readings

    def _best(self, key: str, year: int | None) -> tuple[Alias, float] | None:
        """The alias for `key` that counts in `year`, with its confidence: the most confident
        one when several factions claim the same words; on a tie, the first in the file."""
        ck = (key, year)
        if ck in self._best_cache:
            return self._best_cache[ck]
        best = None
        for alias in self._by_key.get(key, ()):
            if year is None:
                conf = alias.confidence * UNKNOWN_YEAR_FACTOR
            elif alias.valid_in(year):
                conf = alias.confidence
            else:
                continue
            if best is None or conf > best[1]:
                best = (alias, conf)
        if len(self._best_cache) > 500_000:
            self._best_cache.clear()
        self._best_cache[ck] = best
        return best

    def find_actors(self, text: str, year: int | None,
                    tokens: list[tuple[str, int, int]] | None = None) -> list[ActorMention]:
        """Faction mentions in `text` for an article of `year` (None: year unknown), in text
        order. Overlapping candidates are settled by length: الجيش الوطني الليبي beats
        الجيش الوطني, and جبهة التناوب والوفاق beats the الوفاق inside it. `tokens` are
        `tokenize(text)` when the caller has them already."""
        toks = tokenize(text) if tokens is None else tokens
        ntok = len(toks)
        candidates: list[tuple[int, int, Alias, float]] = []  # (first token, tokens, alias, conf)
        cache = self._word_cache  # _readings' cache, looked up here first (most words miss)
        for i in range(ntok):
            readings = cache.get(toks[i][0])
            if readings is None:
                readings = self._readings(toks[i][0])
            if not readings:
                continue
            found = None
            for _, stem, longest in readings:
                for n in range(min(longest, ntok - i), 0, -1):
                    if found is not None and n <= found[1]:
                        break
                    if n > 1 and not _adjacent(toks, text, i, n):
                        continue
                    key = stem if n == 1 else " ".join([stem, *(t[0] for t in toks[i + 1:i + n])])
                    hit = self._best(key, year)
                    if hit is not None:
                        found = (i, n, hit[0], hit[1])
                        break
            if found is not None:
                candidates.append(found)
        if not candidates:
            return []
        # longest first, then leftmost; a token belongs to at most one mention
        candidates.sort(key=lambda c: (-c[1], -(toks[c[0] + c[1] - 1][2] - toks[c[0]][1]),
                                       c[0]))
        taken = [False] * ntok
        chosen = []
        for c in candidates:
            i, n = c[0], c[1]
            if any(taken[i:i + n]):
                continue
            for j in range(i, i + n):
                taken[j] = True
            chosen.append(c)
        chosen.sort(key=lambda c: c[0])
        out = []
        for i, n, alias, conf in chosen:
            start, end = toks[i][1], toks[i + n - 1][2]
            out.append(ActorMention(alias.faction_id, text[start:end], start, end,
                                    round(conf, 4), alias.ar))
        return out


def _splits(form: str) -> tuple[tuple[int, str], ...]:
    """`proclitic_splits`, plus the reading it misses for a stem that starts with ل: the
    preposition ل before the article swallows the article's lam too, so للواء is ل + اللواء
    (لـ«اللواء السابع»), not ل + الواء."""
    splits = proclitic_splits(form)
    for n in (1, 2):
        if form[n - 1:n + 1] == "لل" and (n == 1 or form[0] in "وف") and len(form) - n >= 2:
            stem = "ال" + form[n:]
            if all(stem != s for _, s in splits):
                splits = (*splits, (n, stem))
    return splits


def _adjacent(toks, text: str, i: int, n: int) -> bool:
    for j in range(i, i + n - 1):
        gap = text[toks[j][2]:toks[j + 1][1]]
        if gap != " " and not _GAP_OK.fullmatch(gap):
            return False
    return True


# -- loading and validation --------------------------------------------------------------------
def load_factions(path: str | Path | None = None) -> Factions:
    """Read and validate a factions file (default: geo/data/factions.json). Raises ValueError
    naming the file, the faction and the alias at fault."""
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("factions"), list):
        raise ValueError(f"{path}: expected an object with a 'factions' list")
    factions: list[Faction] = []
    seen: set[str] = set()
    for k, raw in enumerate(data["factions"]):
        faction = _parse_faction(raw, k, path)
        if faction.id in seen:
            raise ValueError(f"{path}: faction {faction.id!r}: duplicate id")
        seen.add(faction.id)
        factions.append(faction)
    if not factions:
        raise ValueError(f"{path}: no factions")
    return Factions(factions)


def _check_keys(obj: dict, expected: set, prefix: str, fail) -> None:
    """Every expected field present, no other (a typo such as "form" for "from" is caught)."""
    missing = expected - obj.keys()
    if missing:
        fail(f"{prefix}missing {', '.join(sorted(missing))}")
    unknown = obj.keys() - expected
    if unknown:
        fail(f"{prefix}unknown field(s) {', '.join(sorted(unknown))}")


def _parse_faction(raw, k: int, path: Path) -> Faction:
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: faction #{k}: expected an object")
    fid = raw.get("id")
    if not isinstance(fid, str) or not _ID_RE.match(fid):
        raise ValueError(f"{path}: faction #{k}: id {fid!r} must match [A-Za-z][A-Za-z0-9_]*")

    def fail(msg: str):
        raise ValueError(f"{path}: faction {fid!r}: {msg}")

    _check_keys(raw, _FACTION_KEYS, "", fail)
    for field in ("name_en", "name_ar", "description"):
        if not isinstance(raw[field], str) or not raw[field].strip():
            fail(f"{field} must be a non-empty string")
    if not _ARABIC_RE.search(raw["name_ar"]):
        fail(f"name_ar {raw['name_ar']!r} has no Arabic letters")
    if raw["kind"] not in KINDS:
        fail(f"kind {raw['kind']!r} is not one of {', '.join(sorted(KINDS))}")
    if not isinstance(raw["aliases"], list) or not raw["aliases"]:
        fail("aliases must be a non-empty list")
    aliases: list[Alias] = []
    for a in raw["aliases"]:
        alias = _parse_alias(a, fid, fail)
        for other in aliases:
            if other.key == alias.key and _overlap(other, alias):
                fail(f"alias {alias.ar!r} is listed twice for overlapping years")
        aliases.append(alias)
    return Faction(fid, raw["name_en"], raw["name_ar"], raw["kind"], raw["description"],
                   tuple(aliases))


def _parse_alias(a, fid: str, fail) -> Alias:
    if not isinstance(a, dict):
        fail(f"alias {a!r} must be an object")
    ar = a.get("ar")
    if not isinstance(ar, str) or not ar.strip():
        fail(f"alias {a!r}: 'ar' must be a non-empty string")
    where = f"alias {ar!r}"
    _check_keys(a, _ALIAS_KEYS, f"{where}: ", fail)
    if not _ARABIC_RE.search(ar):
        fail(f"{where}: not Arabic")
    key = normalize_name(ar)
    if not key:
        fail(f"{where}: normalises to nothing")
    for bound in ("from", "to"):
        y = a[bound]
        if y is not None and (not isinstance(y, int) or isinstance(y, bool)
                              or not MIN_YEAR <= y <= MAX_YEAR):
            fail(f"{where}: '{bound}' must be a year between {MIN_YEAR} and {MAX_YEAR} "
                 f"or null, got {y!r}")
    if a["from"] is not None and a["to"] is not None and a["from"] > a["to"]:
        fail(f"{where}: 'from' {a['from']} is after 'to' {a['to']}")
    conf = a["confidence"]
    if isinstance(conf, bool) or not isinstance(conf, (int, float)) or not 0 <= conf <= 1:
        fail(f"{where}: confidence must be a number in 0..1, got {conf!r}")
    if not isinstance(a["note"], str):
        fail(f"{where}: note must be a string")
    return Alias(fid, ar, key, a["from"], a["to"], float(conf), a["note"])


def _overlap(a: Alias, b: Alias) -> bool:
    lo_a = MIN_YEAR if a.year_from is None else a.year_from
    hi_a = MAX_YEAR if a.year_to is None else a.year_to
    lo_b = MIN_YEAR if b.year_from is None else b.year_from
    hi_b = MAX_YEAR if b.year_to is None else b.year_to
    return lo_a <= hi_b and lo_b <= hi_a
