"""Recognise place mentions in Arabic text and resolve each to one gazetteer record.

Recognition is a longest match over normalised word n-grams, each first word read with and
without its proclitics (بطرابلس, وبنغازي, للزاوية, فالجفرة), then a one-edit fuzzy match for
important places (طرابس). Guards keep out words that only look like places: weekdays and other
common words need a cue or a neighbouring place, nisba adjectives and surnames (الغرياني,
المصراتي) never match. Disambiguation ranks each mention's candidate records by cue words
(مدينة, قاعدة, حقل ...), the Libyan prior, kind, importance and closeness to the article's other
places.
"""

from __future__ import annotations

import math
from collections import Counter
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from gazetteer.index import Gazetteer
from gazetteer.model import Place, haversine_km, is_minor
from geo.text import normalize_name, proclitic_splits, tokenize

DATA_DIR = Path(__file__).parent.parent / "gazetteer" / "data"

# Cue words that say what kind of place follows: (normalised word) -> kinds it points to.
CUES: dict[str, frozenset[str]] = {}


def _words(words: str) -> frozenset[str]:
    """Word lists are written in plain Arabic and normalised like the text they are matched in."""
    return frozenset(normalize_name(w) for w in words.split())


def _cue(words: str, kinds: str) -> None:
    for w in _words(words):
        CUES[w] = frozenset(kinds.split())


_cue("مدينه المدينه بمدينه ومدينه لمدينه", "city town")
_cue("بلده قريه البلده القريه بلدات قري", "town village")
_cue("حي الحي احياء ضاحيه ضواحي منطقتي", "neighbourhood village town")
_cue("منطقه المنطقه مناطق بمنطقه ومنطقه", "neighbourhood village town district region")
_cue("شعبيه بلديه محافظه", "district")
_cue("قاعده القاعده قاعدتي بقاعده", "airbase camp port")
_cue("مطار المطار مطاري بمطار", "airport airbase")
_cue("حقل الحقل حقول حقلي بحقل", "oil_field")
_cue("ميناء الميناء ميناءي موانئ مرفا بميناء", "port oil_terminal")
_cue("معسكر المعسكر معسكرات بمعسكر", "camp")
_cue("جسر الجسر بوابه البوابه حاجز الحاجز معبر المعبر منفذ المنفذ", "bridge checkpoint")
_cue("طريق الطريق", "road")
_cue("سجن السجن بسجن مجمع المجمع بمجمع", "facility camp")  # "سجن الكويفية", "مجمع باب العزيزية"
_cue("واحه الواحه", "town village")
# nouns whose complement is a place: "أهل الجنوب", "مطارات الجنوب", "سكان طرابلس"
_cue("اهل سكان ابناء بلديات مطارات قبائل مدن", "region district city town village neighbourhood")

# Prepositions and relations after which a word is likely a place (في بنغازي, قرب هون).
PLACE_PREPOSITIONS = _words(
    "في من الي الى نحو قرب بقرب داخل حول جنوب شمال شرق غرب جنوبي شمالي شرقي غربي مدخل ضواحي "
    "اطراف محيط باتجاه اتجاه علي بين عند تجاه بلده حتي عن")

# "العاصمة" on its own means Tripoli in Libyan news; followed by another nationality it does not.
CAPITAL_WORDS = _words("العاصمة")
LIBYAN_ADJ = _words("الليبية الليبي")

DIRECTIONS = _words("جنوب شمال شرق غرب جنوبي شمالي شرقي غربي")

PERSON_TITLES = _words(
    "اللواء العقيد العميد المشير الشيخ المفتي السيد الدكتور النقيب الرائد المقدم الفريق الحاج "
    "الامير الرئيس الوزير المستشار")

# A region beats a district of the same name (الجبل الغربي: the mountains, unless "شعبية").
KIND_PRIOR = {"city": 1.0, "country": 0.95, "district": 0.7, "region": 0.72, "town": 0.8,
              "village": 0.45, "neighbourhood": 0.55}
FACILITY_PRIOR = 0.6


def _read_wordlist(path: Path) -> dict[str, bool]:
    """word -> True when the list says it is also a real place (comment after it)."""
    words: dict[str, bool] = {}
    if not path.exists():
        return words
    for line in path.read_text(encoding="utf-8").splitlines():
        body, _, comment = line.partition("#")
        word = normalize_name(body.strip())
        if word:
            words[word] = bool(comment.strip())
    return words


@lru_cache(maxsize=1)
def fuzzy_blockers() -> frozenset[str]:
    """Frequent Arabic words one edit from a place name (بالتزامن ~ التضامن, السوداء ~ السودان),
    measured by the gazetteer build with wordfreq (fuzzy_blockers_ar.txt): never fuzzy matches."""
    return frozenset(_read_wordlist(DATA_DIR / "fuzzy_blockers_ar.txt"))


@lru_cache(maxsize=1)
def common_words() -> dict[str, bool]:
    """Words that are spelled like places but usually are not: the curated list (weekdays,
    adjectives, nouns) and the one-word place names that are frequent Arabic words, which the
    gazetteer build measures with wordfreq (frequent_names_ar.txt)."""
    words = _read_wordlist(DATA_DIR / "frequent_names_ar.txt")
    words.update(_read_wordlist(DATA_DIR / "common_words_ar.txt"))
    return words


@dataclass(slots=True)
class Mention:
    text: str
    start: int
    end: int
    place: Place
    score: float  # 0..1
    matched: str  # the normalised gazetteer name that matched
    alternatives: list[Place] = field(default_factory=list)
    how: str = "exact"  # exact | proclitic | fuzzy | alias

    def to_json(self) -> dict:
        p = self.place
        return {"text": self.text, "start": self.start, "end": self.end, "id": p.id,
                "name_ar": p.name_ar, "name_en": p.name_en, "kind": p.kind,
                "lat": round(p.lat, 6), "lon": round(p.lon, 6), "district": p.district,
                "in_libya": p.in_libya, "precision": p.precision, "score": round(self.score, 3)}


@dataclass(slots=True)
class _Match:
    i: int  # first token
    n: int  # tokens covered
    key: str
    places: list[Place]
    how: str
    quality: float  # 0..1, exact = 1


# What may separate the words of one name: spaces, a hyphen, and at most one line break (text
# wrapped at a fixed width, "غرب\nليبيا"); a blank line ends it.
_GAP_OK = re.compile(r"[ \u00a0\t\-ـ]*\n?[ \u00a0\t]*")


class Resolver:
    """Turns text into `Mention`s with one gazetteer."""

    def __init__(self, gazetteer: Gazetteer, words: dict[str, bool] | None = None):
        self.g = gazetteer
        self.words = common_words() if words is None else words
        self.blockers = fuzzy_blockers()
        self._cache: dict[str, tuple] = {}

    # -- recognition -----------------------------------------------------------------------
    def _word_info(self, form: str) -> tuple[list[tuple[int, str, int]], tuple | None]:
        """For one word form: its readings (prefix letters, stem, longest name starting with the
        stem) that can start a name, and its best fuzzy match. News vocabulary repeats, so this
        is cached per form."""
        info = self._cache.get(form)
        if info is not None:
            return info
        g = self.g
        splits = ((0, form),) if form.isascii() else proclitic_splits(form)
        readings = [(n, stem, g.max_len_by_first[stem]) for n, stem in splits
                    if stem in g.max_len_by_first]
        fuzzy = None
        if not form.isascii():
            for _, stem in splits:
                if stem in self.words or stem in g.nisba or stem in self.blockers:
                    continue
                hits = g.fuzzy_word(stem)
                if hits:
                    fuzzy = hits[0]
                    break
        if len(self._cache) > 500_000:
            self._cache.clear()
        self._cache[form] = info = (readings, fuzzy)
        return info

    def _match_at(self, toks, text, i) -> _Match | None:
        form, start, end = toks[i]
        g = self.g
        best: _Match | None = None
        latin = form.isascii()
        if latin and not (text[start].isupper() and form.isalpha()):
            return None
        readings, fuzzy = self._word_info(form)
        for nstrip, stem, longest in readings:
            for n in range(min(longest, len(toks) - i), 0, -1):
                if n > 1 and not self._adjacent(toks, text, i, n):
                    continue
                key = stem if n == 1 else " ".join([stem, *(t[0] for t in toks[i + 1:i + n])])
                places = g.exact(key)
                if not places:
                    continue
                if latin:
                    places = [p for p in places if p.importance >= 10000 or p.kind in
                              ("country", "district", "region")]
                    if not places:
                        continue
                if best is None or n > best.n:
                    best = _Match(i, n, key, places, "proclitic" if nstrip else "exact", 1.0)
                break
        if best is None and fuzzy is not None:
            key, score = fuzzy
            best = _Match(i, 1, key, g.exact(key), "fuzzy", score / 100 * 0.9)
        return best

    @staticmethod
    def _adjacent(toks, text, i, n) -> bool:
        for j in range(i, i + n - 1):
            if not _GAP_OK.fullmatch(text[toks[j][2]:toks[j + 1][1]]):
                return False
        return True

    def _is_common(self, m: _Match) -> bool:
        """A one-word name that is also an ordinary Arabic word (المدينة, الجمعة, صالح)."""
        return m.n == 1 and m.key in self.words

    def _needs_evidence(self, m: _Match) -> bool:
        """A match that may be an ordinary word or a name: a common word, or a place so small
        that an unrelated word or surname is likelier (السراج, الهيرة)."""
        return self._is_common(m) or all(is_minor(p) for p in m.places)

    def _has_evidence(self, m: _Match, toks, text: str) -> bool:
        """A cue word (مدينة, منطقة, قاعدة ...) before the name; for a name that is not a
        common word, or a common word that names an important place (هون, الزاوية), also a
        preposition of place or the proclitic ب / ل on it, or a direction after it."""
        prev = self._prev_stems(m, toks)
        if prev & CUES.keys():
            return True
        if m.n > 1 and m.key.split(" ")[0] in CUES:
            return True  # the name carries its own cue: "مطار معيتيقة", "حقل الشرارة"
        if self._is_common(m) and all(is_minor(p) for p in m.places):
            return False
        if prev & PLACE_PREPOSITIONS:
            return True
        if self._is_common(m) and (self._detached(m, toks, text)
                                   or (m.i and not any(s.startswith("ال") for s in prev))):
            # an important place whose name is also a word (الزاوية, البيضاء, الجنوب): after an
            # indefinite noun or a verb it is a name ("مركز الزاوية", "شهدت البيضاء"); after a
            # definite noun it is an adjective ("الراية البيضاء", "السنوات الخمس")
            return True
        first = toks[m.i][0]
        if first.startswith(("ب", "وب", "فب", "ل", "ول", "فل")) and first != m.key.split(" ")[0]:
            return True
        nxt = toks[m.i + m.n][0] if m.i + m.n < len(toks) else ""
        return nxt in DIRECTIONS

    @staticmethod
    def _detached(m: _Match, toks, text: str) -> bool:
        """A dash or colon beside the name: a dateline ("الوسط - الزاوية", "الزاوية - ") or a
        heading, so it is not an adjective of the word before."""
        before = text[toks[m.i - 1][2]:toks[m.i][1]] if m.i else ""
        end = toks[m.i + m.n - 1][2]
        after = text[end:end + 4].lstrip(" \u00a0")
        return any(ch in before for ch in "-–—:") or after[:1] in ("-", "–", "—", ":")

    @staticmethod
    def _prev_stems(m: _Match, toks) -> set[str]:
        if not m.i:
            return set()
        return {s for _, s in proclitic_splits(toks[m.i - 1][0])}

    def find(self, text: str, tokens: list[tuple[str, int, int]] | None = None
             ) -> tuple[list[_Match], list[tuple[str, int, int]]]:
        """Recognised (not yet disambiguated) matches, and the tokens of `text`."""
        toks = tokenize(text) if tokens is None else tokens
        found: list[_Match] = []
        cache = self._cache
        i = 0
        while i < len(toks):
            info = cache.get(toks[i][0]) or self._word_info(toks[i][0])
            if not info[0] and info[1] is None:
                i += 1  # most words start no name: skip them cheaply
                continue
            m = self._match_at(toks, text, i)
            if m is None:
                i += 1
                continue
            found.append(m)
            i += m.n
        found = [m for m in found if not self._is_person(m, toks)]
        doubtful = {k for k, m in enumerate(found)
                    if self._needs_evidence(m) and not self._has_evidence(m, toks, text)}
        # coordination with a sure place rescues a doubtful one ("الجفرة وهون وسكونة",
        # "راس لانوف والسدر"), and so does the same name accepted elsewhere in the article
        changed = True
        while changed:
            changed = False
            for k in sorted(doubtful):
                m = found[k]
                if self._is_common(m) and all(is_minor(p) for p in m.places):
                    continue  # "بني وليد، المدينة الواقعة ..." is apposition, not a list
                if self._coordinated(found, k, toks, text, doubtful):
                    doubtful.discard(k)
                    changed = True
        # (propagation never applies to common words: one "في المدينة" says nothing of others)
        sure = {found[k].key for k in range(len(found))
                if k not in doubtful and not self._is_common(found[k])}
        return [m for k, m in enumerate(found) if k not in doubtful or m.key in sure], toks

    @staticmethod
    def _coordinated(found, k, toks, text, doubtful) -> bool:
        m = found[k]
        for j in (k - 1, k + 1):
            if not 0 <= j < len(found) or j in doubtful:
                continue
            o = found[j]
            a, b = (o, m) if j < k else (m, o)
            if toks[b.i][1] - toks[a.i + a.n - 1][2] > 4 or b.i != a.i + a.n:
                continue
            gap = text[toks[a.i + a.n - 1][2]:toks[b.i][1]]
            if toks[b.i][0].startswith("و") or gap.strip() in ("،", ","):
                return True
        return False

    def _is_person(self, m: _Match, toks) -> bool:
        """A one-word small place right after a title or honorific is part of a person's name:
        "المفتي الصادق الغرياني", "العقيد ... الورفلي"."""
        if m.n > 1 or any(p.kind in ("city", "country", "district", "region") for p in m.places):
            return False
        before = [t[0] for t in toks[max(0, m.i - 3):m.i]]
        return any(w in PERSON_TITLES for w in before) and not (before and before[-1] in
                                                                 PLACE_PREPOSITIONS | set(CUES))

    # -- disambiguation --------------------------------------------------------------------
    def resolve(self, text: str, tokens: list[tuple[str, int, int]] | None = None
                ) -> list[Mention]:
        """Mentions of `text`; `tokens` are `tokenize(text)` when the caller has them."""
        matches, toks = self.find(text, tokens)
        cues = [self._cue_kinds(m, toks) for m in matches]
        # The article's geography: each Libyan mention's best reading on priors and cues alone.
        # Every mention counts, so the places an article keeps returning to weigh most.
        anchors: list[tuple[int, Place]] = []
        for k, (m, cue) in enumerate(zip(matches, cues)):
            if m.how == "fuzzy":
                continue
            first = m.places[0] if len(m.places) == 1 else \
                max(m.places, key=lambda p: self._rank(p, cue, (), ()))
            if first.in_libya and not first.is_area:
                anchors.append((k, first))
        cities_named = {p.id for m in matches for p in m.places if p.kind == "city"}
        mentions: list[Mention] = []
        geography = Counter(a.id for _, a in anchors)
        by_id = {a.id: a for _, a in anchors}
        own = dict(anchors)
        for k, (m, cue) in enumerate(zip(matches, cues)):
            if len(m.places) == 1:
                scored = [(0.0, m.places[0])]
            else:
                # a mention is no evidence for itself
                weighted = [(by_id[i], n - (1 if k in own and own[k].id == i else 0))
                            for i, n in geography.items()]
                weighted = [(a, n) for a, n in weighted if n > 0]
                scored = sorted(((self._rank(p, cue, weighted, cities_named), p)
                                 for p in m.places), key=lambda sp: -sp[0])
            best = scored[0][1]
            margin = 1.0
            if len(scored) > 1:
                margin = 1 / (1 + math.exp(-(scored[0][0] - scored[1][0]) * 3))
            start, end = toks[m.i][1], toks[m.i + m.n - 1][2]
            mentions.append(Mention(text[start:end], start, end, best, m.quality * margin,
                                    m.key, [p for _, p in scored[1:4]], m.how))
        mentions.extend(self._capital_mentions(text, toks, matches))
        mentions.sort(key=lambda x: x.start)
        return mentions

    def _cue_kinds(self, m: _Match, toks) -> frozenset[str]:
        kinds: frozenset[str] = frozenset()
        for stem in self._prev_stems(m, toks):
            kinds |= CUES.get(stem, frozenset())
        return kinds

    def _rank(self, p: Place, cue_kinds, anchors, cities_named) -> float:
        s = 2.0 if p.in_libya else 0.0
        s += KIND_PRIOR.get(p.kind, FACILITY_PRIOR)
        if not p.is_area:
            # populations of areas are not comparable with those of towns
            s += 0.35 * math.log10(p.importance + 1) / 7
        if cue_kinds and p.kind in cue_kinds:
            s += 1.5
        if anchors and p.in_libya and not p.is_area:
            # mean closeness to the article's places (a scale of ~100 km), each place weighted
            # by how often the article names it
            total = sum(n for _, n in anchors)
            s += 0.8 * sum(n * math.exp(-_km(p, a) / 100) for a, n in anchors) / total
        if p.parent and p.parent.startswith("osm:") and p.parent in cities_named:
            s += 0.5
        return s

    def _capital_mentions(self, text, toks, matches) -> list[Mention]:
        tripoli = self.g.get(TRIPOLI_ID)
        if tripoli is None:
            return []
        taken = {j for m in matches for j in range(m.i, m.i + m.n)}
        out = []
        for i, (form, start, end) in enumerate(toks):
            if "عاصم" not in form or i in taken:
                continue
            if not {s for _, s in proclitic_splits(form)} & CAPITAL_WORDS:
                continue
            nxt = toks[i + 1][0] if i + 1 < len(toks) else ""
            adjacent = i + 1 < len(toks) and _GAP_OK.fullmatch(text[end:toks[i + 1][1]])
            if adjacent and nxt in LIBYAN_ADJ:
                out.append(Mention(text[start:toks[i + 1][2]], start, toks[i + 1][2], tripoli,
                                   0.9, "العاصمه الليبيه", [], "alias"))
                continue
            if adjacent and (i + 1 in taken or (nxt.startswith("ال") and len(nxt) >= 5
                                                and nxt.endswith(("يه", "ي")))):
                # "العاصمة طرابلس" names the city next to it; "العاصمة المصرية" is not Tripoli
                continue
            out.append(Mention(text[start:end], start, end, tripoli, 0.8, "العاصمه", [], "alias"))
        return out


TRIPOLI_ID = "osm:n1699640925"


def _km(a: Place, b: Place) -> float:
    key = (a.id, b.id)
    d = _KM_CACHE.get(key)
    if d is None:
        if len(_KM_CACHE) > 1_000_000:
            _KM_CACHE.clear()
        d = _KM_CACHE[key] = haversine_km(a.lat, a.lon, b.lat, b.lon)
    return d


_KM_CACHE: dict[tuple[str, str], float] = {}


def resolve_mentions(text: str, gazetteer: Gazetteer) -> list[Mention]:
    """Place mentions in `text`, each resolved to its most likely gazetteer record."""
    return Resolver(gazetteer).resolve(text)
