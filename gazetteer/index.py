"""The name index over gazetteer records: exact n-gram lookup, fuzzy lookup, ranked candidates."""

from __future__ import annotations

import math
from collections import defaultdict
from itertools import product
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from geo.text import normalize_name
from gazetteer.model import Place

# Fuzzy recognition in running text only considers names this long (normalised letters):
# shorter Arabic words are one letter away from too many ordinary words.
# The token may be one letter shorter (طرابس for طرابلس).
FUZZY_MIN_LEN = 6
# ... and only places important enough that a misspelling of them is likelier than a rare word.
FUZZY_KINDS = frozenset({"country", "city"})
FUZZY_MIN_IMPORTANCE = 50000

_DIRECTION_FORMS = {}
for _noun, _adj in (("جنوب", "جنوبي"), ("شمال", "شمالي"), ("شرق", "شرقي"), ("غرب", "غربي")):
    _DIRECTION_FORMS[_noun] = _DIRECTION_FORMS[_adj] = (_noun, _adj)

_NISBA_ENDINGS = ("ي", "يه", "يون", "يين", "ين", "يا")


@dataclass(frozen=True, slots=True)
class Candidate:
    place: Place
    score: float  # 0..100, how well the name matched
    matched: str  # the normalised name that matched


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def nisba_forms(name: str) -> set[str]:
    """Adjective and surname forms of a one-word place name: مصراته -> مصراتي, المصراتي ...
    A word in this set names a person or a quality, not the place."""
    stem = name[2:] if name.startswith("ال") else name
    for tail in ("يه", "ه", "ا", "ي"):
        if stem.endswith(tail) and len(stem) - len(tail) >= 3:
            stem = stem[: -len(tail)]
            break
    forms = set()
    for end in _NISBA_ENDINGS:
        forms.add(stem + end)
        forms.add("ال" + stem + end)
    forms.discard(name)
    return forms


class Gazetteer:
    """Places and the index over their names. Build with `Gazetteer(places)`."""

    def __init__(self, places: list[Place]):
        self.places: list[Place] = []
        self.by_id: dict[str, Place] = {}
        for p in places:
            if p.id in self.by_id:
                # a later source (the user's gazetteer) overrides the default record
                self.places[self.places.index(self.by_id[p.id])] = p
            else:
                self.places.append(p)
            self.by_id[p.id] = p
        self._build()

    # -- index -----------------------------------------------------------------------------
    def _build(self) -> None:
        names: dict[str, list[int]] = defaultdict(list)
        latin: set[str] = set()
        for i, p in enumerate(self.places):
            for raw in [p.name_ar, *p.variants_ar]:
                for key in self._keys(raw):
                    if i not in names[key]:
                        names[key].append(i)
            for raw in [p.name_en, *p.variants_en]:
                key = normalize_name(raw)
                if key and i not in names[key]:
                    names[key].append(i)
                    latin.add(key)
        self.names: dict[str, list[int]] = dict(names)
        self.latin_names = frozenset(latin)
        # longest name, in tokens, that starts with each first token
        lengths: dict[str, int] = {}
        for key in self.names:
            toks = key.split(" ")
            lengths[toks[0]] = max(lengths.get(toks[0], 0), len(toks))
        self.max_len_by_first = lengths
        self._fuzzy_index: dict[str, set[str]] = defaultdict(set)
        nisba: set[str] = set()
        for key, idxs in self.names.items():
            if " " in key or key in self.latin_names:
                continue
            if len(key) >= 4:
                nisba |= nisba_forms(key)
            if len(key) < FUZZY_MIN_LEN:
                continue
            if any(self._fuzzy_ok(self.places[i]) for i in idxs):
                for d in _deletions(key) | {key}:
                    self._fuzzy_index[d].add(key)
        self.nisba = frozenset(nisba - set(self.names))
        self._choices = list(self.names)

    @staticmethod
    def _keys(raw: str) -> list[str]:
        key = normalize_name(raw)
        if not key:
            return []
        keys = [key]
        toks = key.split(" ")
        if any(t in _DIRECTION_FORMS for t in toks):
            # جنوب غرب ليبيا = جنوب غربي ليبيا = جنوبي غرب ليبيا
            keys = [" ".join(c) for c in product(*[_DIRECTION_FORMS.get(t, (t,)) for t in toks])]
        if " " in key:
            # run-together spellings: الولاياتالمتحدة
            keys.append(key.replace(" ", ""))
        return keys

    @staticmethod
    def _fuzzy_ok(p: Place) -> bool:
        return p.kind in FUZZY_KINDS and (p.importance >= FUZZY_MIN_IMPORTANCE or p.kind != "city")

    # -- queries ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.places)

    def get(self, place_id: str) -> Place | None:
        return self.by_id.get(place_id)

    def exact(self, key: str) -> list[Place]:
        """Places whose normalised name is exactly `key`."""
        return [self.places[i] for i in self.names.get(key, ())]

    def fuzzy_word(self, form: str, max_distance: int = 1) -> list[tuple[str, float]]:
        """Names one edit away from a single normalised word, as (name, score 0..100)."""
        if len(form) < FUZZY_MIN_LEN - 1 or form in self.names or form in self.nisba:
            return []
        found = set()
        for d in _deletions(form) | {form}:
            found |= self._fuzzy_index.get(d, set())
        out = []
        for key in found:
            if Levenshtein.distance(form, key) <= max_distance:
                out.append((key, fuzz.ratio(form, key)))
        out.sort(key=lambda kv: -kv[1])
        return out

    def lookup(self, name: str, *, limit: int = 5, min_score: float = 85) -> list[Candidate]:
        """Ranked candidates for a name in Arabic or Latin script, fuzzy.

        >>> gaz.lookup("طرابس")[0].place.name_en
        'Tripoli'
        """
        key = normalize_name(name)
        if not key:
            return []
        scored: dict[str, tuple[float, str]] = {}
        for idx in self.names.get(key, ()):
            scored[self.places[idx].id] = (100.0, key)
        for k in (key[2:],) if key.startswith("ال") else ("ال" + key,):
            for idx in self.names.get(k, ()):
                scored.setdefault(self.places[idx].id, (97.0, k))
        hits = process.extract(key, self._choices, scorer=fuzz.WRatio, score_cutoff=min_score,
                               limit=limit * 4)
        for choice, score, _ in hits:
            # WRatio rewards partial matches; a full ratio keeps short names honest
            score = min(score, fuzz.ratio(key, choice) + 10)
            if score < min_score:
                continue
            for idx in self.names[choice]:
                pid = self.places[idx].id
                if pid not in scored or scored[pid][0] < score:
                    scored[pid] = (score, choice)
        cands = [Candidate(self.by_id[pid], s, m) for pid, (s, m) in scored.items()]
        cands.sort(key=lambda c: (-c.score, not c.place.in_libya,
                                  -math.log1p(c.place.importance)))
        return cands[:limit]
