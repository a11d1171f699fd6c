"""Arabic text normalisation and tokenisation that never lose the way back to the original.

Normalisation here is length-preserving: every character of the original maps to exactly one
character of the normalised text, so an offset in one is the same offset in the other. Characters
that normalisation deletes (diacritics, tatweel) become a filler (U+0640) that the tokeniser keeps
inside a word and strips from the token's form. `normalize_arabic` offers the compacted string with
an explicit offset map for callers who want the filler gone.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass

FILLER = "\u0640"  # tatweel: a letter for `re`'s \w, so words stay whole across diacritics

_MAP: dict[int, str] = {}


def _map(chars: str, to: str) -> None:
    for ch in chars:
        _MAP[ord(ch)] = to


# Alef and hamza seats: news writes أ/إ/آ/ا interchangeably (اجدابيا, إجدابيا).
_map("أإآٱٲٳ", "ا")
_map("ؤ", "و")
_map("ئ", "ي")
# ta marbuta and alef maqsura are written as ه and ي in much online Arabic (مصراته, الزاويه).
_map("ة", "ه")
_map("ى", "ي")
# Persian/Urdu letter forms that turn up in copied text.
_map("یي", "ي")
_map("ک", "ك")
_map("ہھ", "ه")
# Diacritics, Quranic marks, superscript alef and tatweel vanish.
for _cp in list(range(0x064B, 0x0660)) + [0x0670] + list(range(0x06D6, 0x06EE)):
    _MAP[_cp] = FILLER
_MAP[0x0640] = FILLER
# Zero-width characters inside words vanish too.
_map("\u200c\u200d\u200e\u200f\u00ad", FILLER)
# Arabic-Indic and Eastern Arabic-Indic digits.
for _i in range(10):
    _MAP[0x0660 + _i] = str(_i)
    _MAP[0x06F0 + _i] = str(_i)
# Quotes, guillemets and Arabic punctuation separate words.
_map("«»\"“”„‟'‘’‚‹›`´،؛؟", " ")
# ASCII case folding by table, since str.lower() may change a string's length.
for _c in range(ord("A"), ord("Z") + 1):
    _MAP[_c] = chr(_c + 32)

_TRANSLATION = str.maketrans(_MAP)

# A word is a run of letters (filler included) or a run of digits; "الـ27" gives "ال" and "27".
_TOKEN_RE = re.compile(r"[^\W\d_]+|\d+")


def normalize_chars(text: str) -> str:
    """Length-preserving normalisation: `normalize_chars(t)[i]` stands for `t[i]`."""
    return text.translate(_TRANSLATION)


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised string and, for each of its characters, the index in the original."""

    text: str
    offsets: tuple[int, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalised text back to the original text."""
        if start >= end:
            pos = self.offsets[start] if start < len(self.offsets) else self._end
            return pos, pos
        return self.offsets[start], self.offsets[end - 1] + 1

    @property
    def _end(self) -> int:
        return self.offsets[-1] + 1 if self.offsets else 0


def normalize_arabic(text: str) -> Normalized:
    """Normalise Arabic (alef/hamza, ta marbuta, alef maqsura, tatweel, diacritics, digits, quotes)
    and drop the characters that normalisation deletes, keeping an offset map to `text`."""
    chars = normalize_chars(text)
    kept = [i for i, ch in enumerate(chars) if ch != FILLER]
    return Normalized("".join(chars[i] for i in kept), tuple(kept))


@lru_cache(maxsize=65536)
def normalize_name(name: str) -> str:
    """Normalised form of a gazetteer name: tokens joined by single spaces."""
    return " ".join(form for form, _, _ in tokenize(name))


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """Words of `text` as (normalised form, start, end) with offsets into `text` itself."""
    norm = normalize_chars(text)
    has_filler = FILLER in norm
    out: list[tuple[str, int, int]] = []
    append = out.append
    for m in _TOKEN_RE.finditer(norm):
        form = m.group()
        if has_filler and FILLER in form:
            form = form.replace(FILLER, "")
            if not form:
                continue
        if form[-1] == "ء" and form[-2:] == "اء" and len(form) > 3:
            # a final hamza after alef is often dropped or added (سبهاء / سبها)
            form = form[:-1]
        elif form[0] <= "9" and form.isdigit() and out and out[-1][0] == "ال" \
                and out[-1][2] == m.start():
            # "الـ27": the article on a number is part of the number (جسر الـ27 = جسر 27)
            out[-1] = (form, out[-1][1], m.end())
            continue
        append((form, m.start(), m.end()))
    return out


# Proclitics that attach to a place name: conjunctions و ف, prepositions ب ل ك, in any of the
# combinations news uses (وب, فب, ول, لل = ل + ال ...). The article ال is part of a name itself
# (الزاوية), so it is never stripped on its own; لل turns back into ال (للزاوية -> الزاوية).
_CONJ = ("و", "ف")
_PREP = ("ب", "ل", "ك")


@lru_cache(maxsize=262144)
def proclitic_splits(form: str, min_stem: int = 2) -> tuple[tuple[int, str], ...]:
    """Ways to read `form` as proclitics + stem, as (number of prefix letters, stem), the
    unsplit reading first. The stem keeps its article: بالسودان -> السودان, never سودان."""
    splits = [(0, form)]
    seen = {form}
    heads = [(0, form)]
    if form[:1] in _CONJ and len(form) - 1 >= min_stem:
        heads.append((1, form[1:]))
    for n, rest in heads:
        if rest[:1] in _PREP and len(rest) - 1 >= min_stem:
            if rest.startswith("لل") and len(rest) - 2 >= min_stem:
                # لل + stem: the ل preposition fused with the article (للزاوية = ل + الزاوية),
                # or with an article whose own ل it swallowed (للواء = ل + اللواء)
                _add(splits, seen, n + 1, "ا" + rest[1:])
                _add(splits, seen, n + 1, "ال" + rest[1:])
            else:
                _add(splits, seen, n + 1, rest[1:])
        if n:
            _add(splits, seen, n, rest)
    return tuple(splits)


def _add(splits: list, seen: set, n: int, stem: str) -> None:
    if stem not in seen:
        seen.add(stem)
        splits.append((n, stem))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) in `text`: split at . ! ? ؟ and line breaks."""
    spans = []
    start = 0
    for m in re.finditer(r"[.!?؟\n]+", text):
        end = m.end()
        if text[start:end].strip():
            spans.append((start, end))
        start = end
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans
