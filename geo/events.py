"""Conflict events and control statements from an article's sentences and resolved places.

A sentence yields an event when it holds a trigger word of an event type (اشتباكات، غارة،
سيطرت ...) that no denial, plan, threat or diplomacy word governs, and a place mention in the
same clause. The event takes the place nearest its trigger (after it first, as Arabic puts the
place after the verb), the factions named in the sentence, the casualties stated, and a date from
the publication date and the sentence's time words. "يسيطر حفتر على سبها" (present tense,
standing control) gives a control record instead of an event.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from bisect import bisect_left, bisect_right
import re
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date

from gazetteer.model import AREA_KINDS
from geo.dates import EventDate, date_mentions, resolve_date
from geo.factions import ActorMention
from geo.resolve import Mention
from geo.text import normalize_name, proclitic_splits, split_sentences, tokenize

FAMILY = {"armed_clash": "fight", "attack": "fight", "storming": "fight",
          "airstrike": "remote", "shelling": "remote", "explosion": "remote",
          "territory_taken": "control", "withdrawal": "control",
          "abduction": "civilians", "killing": "civilians",
          "protest": "protest", "mobilization": "mobilization"}


def _lex(spec: dict[str, str]) -> dict[str, str]:
    return {normalize_name(w): t for t, words in spec.items() for w in words.split()}


# One-word triggers, in normalised form after proclitics are removed.
TRIGGERS = _lex({
    "armed_clash": "اشتباكات اشتباك اشتبكت اشتبك اشتبكوا مواجهات مواجهة معارك معركة اقتتال "
                   "قتال",
    "attack": "هجوم هجوما هجمات هاجم هاجمت هاجموا كمين استهدف استهدفت",
    "storming": "اقتحام اقتحم اقتحمت اقتحموا اقتحمها دهم داهمت داهم",
    "airstrike": "غارة غارات الغارة الغارات مسيرة مسيرات",
    "shelling": "قصف قصفت قصفه قذائف القذائف صواريخ قصفا",
    "explosion": "انفجار تفجير انفجرت مفخخة ناسفة",
    "territory_taken": "سيطرت سيطر سيطروا سيطرته سيطرتها السيطرة استعادت استعاد استعادوا "
                       "استعادة حررت حرر حرروا تحرير بسطت انتزعت",
    "withdrawal": "انسحاب انسحبت انسحب انسحبوا الانسحاب تراجعت",
    "abduction": "اختطاف اختطفت خطف اختطف خطفت",
    "killing": "اغتيال اغتيل إعدام اعدام أعدم",
    "protest": "احتجاج احتجاجات تظاهرة تظاهرات مظاهرة مظاهرات متظاهرون المتظاهرون "
               "محتجون المحتجون اعتصام",
    "mobilization": "حشد حشود تحشيد النفير تعبئة احتشدت احتشد تعزيزات أرتال رتل تقدمت "
                    "زحف وصلت",
})
# An airstrike is a قصف by aircraft: "قصف جوي", "قصفت طائرة".
AIR_WORDS = frozenset(normalize_name(w) for w in "جوي جوية الجوي الجوية طائرة طائرات الطيران "
                      "مقاتلات مروحية مروحيات عمودية".split())

# Words that make a trigger something other than a concrete event that happened.
DENIAL = frozenset(normalize_name(w) for w in "نفى نفت ينفي تنفي نفي".split())
PLAN = frozenset(normalize_name(w) for w in
                 "سوف ستشن سيشن يعتزم تعتزم اعتزام تستعد يستعد للاستعداد الاستعداد جهزت "
                 "تهدد يهدد تهديد هدد توعد المقبلة المقبل القادمة خطة لمواجهة لعملية "
                 "بهدف هدفه هدفها اجل لتحرير لتطهير تطهير لبسط لوقف وقف ايقاف تحقيق "
                 "يخشى تخشى مخاوف".split())
DIPLOMACY = frozenset(normalize_name(w) for w in
                      "اجتمع يجتمع التقى يلتقي زيارة زار دعا دعت دعوات دعوة طالب ناشد حذر "
                      "ندد تنديد أدان دان يدين بحث".split())
# A party named right after these words speaks about the events (denies, condemns, calls for
# calm); it is not one of their parties: "بينما نفى ... حفتر أن يكون ...", "تنديد المؤتمر".
SPEAKER_WORDS = DENIAL | DIPLOMACY | frozenset(
    normalize_name(w) for w in ["استنكر", "استنكرت", "رحب", "رحبت", "انتقد", "انتقدت"])
# A trigger after a demonstrative recalls an incident already reported ("هذه المواجهات",
# "ذلك الهجوم"): DESIGN's "a repeated incident is annotated once".
DEMONSTRATIVES = frozenset(normalize_name(w) for w in
                           ["هذه", "هذا", "تلك", "ذلك", "هذين", "هاتين"])
# "التنظيم" without a name is the jihadist organisation the article is about (ISIS in Sirte).
ORGANISATION = frozenset(normalize_name(w) for w in ("التنظيم",))
# A date stated once holds for the sentences that continue the same report, but not for
# background ("وكانت ... قد سيطرت") or an earlier moment ("في وقت سابق").
BACKGROUND = frozenset(normalize_name(w) for w in ["قد", "سابق", "سابقا"])
# "من جانب آخر", "في سياق آخر", "على صعيد آخر", "من ناحية أخرى": another subject.
SHIFT_WORDS = frozenset(normalize_name(w) for w in ["جانب", "سياق", "صعيد", "ناحية", "جهة"])
# Actors that are not armed parties: they belong to the clause that names them.
UNARMED = ("civilians", "protesters")
# Words for a side of a fight that the text describes without naming it.
SIDE_WORDS = frozenset(normalize_name(w) for w in [
    "مجموعتين", "مجموعات", "مسلحين", "مسلحي", "مسلحتين", "طرفين", "الطرفين", "مكوني", "قبيلتي",
    "قبيلة", "عناصر", "مقاتلين", "مقاتلي", "كتيبتين", "ميليشيات", "مليشيات"])
# Standing control: "يسيطر حفتر على ..." (present tense), "تخضع لسيطرة".
STANDING = frozenset(normalize_name(w) for w in "يسيطر تسيطر يُسيطر تخضع يخضع الخاضعة".split())

_NUM_WORDS = {normalize_name(w): n for w, n in (
    ("شخص", 1), ("شخصين", 2), ("اثنين", 2), ("ثلاثة", 3), ("أربعة", 4), ("خمسة", 5),
    ("ستة", 6), ("سبعة", 7), ("ثمانية", 8), ("تسعة", 9), ("عشرة", 10),
    # ACLED's conventions for vague counts: several/many = 10, dozens = 12, hundreds = 100
    ("عدة", 10), ("عدد", 10), ("عشرات", 12), ("مئات", 100))}
_KILLED = frozenset(normalize_name(w) for w in
                    "قتيل قتيلا قتيلًا قتلى القتلى قتلوا قتل مقتل مصرع قضوا حتفهم شهيدا شهداء "
                    "داعشيا".split())
_INJURED = frozenset(normalize_name(w) for w in
                     "جريح جريحا جرحى جرح إصابة اصابة إصابات مصابا مصابين أصيب اصيب آخرين".split())


@dataclass(slots=True)
class Event:
    id: str
    type: str
    place: Mention
    geo_precision: int
    actors: list[str]
    controller_after: str | None
    date: EventDate
    fatalities: int | None
    injuries: int | None
    sentence: str
    start: int
    end: int
    confidence: float
    trigger: str = ""

    @property
    def family(self) -> str:
        return FAMILY[self.type]

    def to_json(self) -> dict:
        p = self.place.place
        return {"id": self.id, "type": self.type, "family": self.family, "lat": round(p.lat, 6),
                "lon": round(p.lon, 6), "place_id": p.id, "place_en": p.name_en,
                "place_ar": p.name_ar, "district": p.district, "geo_precision": self.geo_precision,
                "in_libya": p.in_libya, "actors": self.actors,
                "controller_after": self.controller_after, "date": self.date.iso(),
                "date_precision": self.date.precision, "fatalities": self.fatalities,
                "injuries": self.injuries, "sentence": self.sentence, "start": self.start,
                "end": self.end, "place_start": self.place.start, "place_end": self.place.end,
                "confidence": round(self.confidence, 3)}


@dataclass(slots=True)
class ControlRecord:
    place: Mention
    faction: str
    as_of: date | None
    sentence: str
    start: int
    end: int

    def to_json(self) -> dict:
        p = self.place.place
        return {"place_id": p.id, "place_en": p.name_en, "lat": round(p.lat, 6),
                "lon": round(p.lon, 6), "faction": self.faction,
                "as_of": self.as_of.isoformat() if self.as_of else None,
                "sentence": self.sentence, "start": self.start, "end": self.end}


@dataclass(slots=True)
class Extraction:
    events: list[Event] = field(default_factory=list)
    control: list[ControlRecord] = field(default_factory=list)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_id(article_hash: str, start: int, end: int, type_: str, place_id: str) -> str:
    """Stable across runs and engines: DESIGN.md's recipe."""
    raw = f"{article_hash}|{start}|{end}|{type_}|{place_id}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:20]


# Words that come before their number ("مقتل 24", "جرح 150"); the others follow it ("24 قتيلا").
_LEADING = frozenset(normalize_name(w) for w in
                     "مقتل مصرع قتل جرح إصابة اصابة إصابات أصيب اصيب سقوط".split())


def _number(w: str) -> int | None:
    return int(w) if w.isdigit() else _NUM_WORDS.get(w)


def casualties(words: list[str]) -> tuple[int | None, int | None]:
    """(fatalities, injuries) stated in a sentence's normalised words: "24 قتيلا", "مقتل 24
    شخصا وجرح 150 آخرين", "أكثر من 40 داعشيا", "عشرات القتلى" (12, ACLED's convention)."""
    found: dict[str, int | None] = {"killed": None, "injured": None}
    used: set[int] = set()
    for i, w in enumerate(words):
        stems = {s for _, s in proclitic_splits(w)}
        what = "killed" if stems & _KILLED else "injured" if stems & _INJURED else None
        if what is None or found[what] is not None:
            continue
        if stems & _LEADING:
            order = [i + 1, i + 2]
        else:
            order = [i - 1, i - 2, i + 1]
        for j in order:
            if 0 <= j < len(words) and j not in used and _number(words[j]) is not None:
                found[what] = _number(words[j])
                used.add(j)
                break
    return found["killed"], found["injured"]


MIN_ACTOR_CONFIDENCE = 0.5
# A parliament or a UN body named in a sentence is a speaker or a reference, not a party to
# the fighting ("قائد الجيش المعين من جانب مجلس النواب").
NON_ACTING_KINDS = frozenset({"legislature", "international_org"})
ARMED_KINDS = frozenset({"state_force", "armed_group", "coalition", "jihadist", "foreign_force",
                         "tribal_or_ethnic"})

# The word before a place name that makes the name part of an organisation's.
ORG_HEADS = frozenset(normalize_name(w) for w in
                      "حماية ثوار مجاهدي شورى بلدي البلدي أعيان حكماء جامعة مديرية أمن".split())
# Words that may stand between the places of one list: "مناطق صلاح الدين وعين زارة ومحور ..."
LIST_WORDS = tuple(normalize_name(w) for w in "منطق مدين بلد حي محور محاور مناطق ضواحي مدن "
                   "اطراف قري احياء منها ومنها بينها".split())
ORG_PHRASES = frozenset(normalize_name(w) for w in ("الدفاع عن", "تحرير", "شباب"))
NEGATION = frozenset(normalize_name(w) for w in "لم لن لا ليس دون فقدت فقد".split())

# Types that are separate events even at the same place in the same sentence: a storming, an
# abduction and a mobilisation are three things; a clash that ends in a capture is one.
_MERGING = {("fight", "control"), ("control", "fight"), ("control", "control"),
            ("fight", "fight"), ("remote", "remote")}


# Reports of fighting and of ground changing hands at one place on one day are one incident.
_GROUP = {"fight": "ground", "control": "ground"}


def _separate(first: str, second: str) -> bool:
    return (FAMILY[first], FAMILY[second]) not in _MERGING


def _after_word(text: str, m: Mention, word: str) -> bool:
    before = text[max(0, m.start - 8):m.start].split()
    return bool(before) and before[-1] == word


def _who_withdrew(events: list["Event"], parties: Counter) -> None:
    """A withdrawal from a place that a party took earlier in the article is that party's
    withdrawal: the ground goes to the other side (seed 001: LNA took Bridge 27 on Thursday
    evening and withdrew at dawn on Friday, so GNA holds it)."""
    taken: dict[str, list[tuple[date, str]]] = {}
    for e in events:
        if e.type == "territory_taken" and e.controller_after and e.date.date:
            taken.setdefault(e.place.place.id, []).append((e.date.date, e.controller_after))
    for e in events:
        if e.type != "withdrawal" or not e.date.date:
            continue
        earlier = [who for d, who in taken.get(e.place.place.id, []) if d < e.date.date]
        if not earlier:
            continue
        leaver = earlier[-1]
        others = [a for a in e.actors if a != leaver] or \
            [f for f, _ in parties.most_common() if f != leaver]
        e.controller_after = others[0] if others else None


def _distinct(ids) -> list[str]:
    return list(dict.fromkeys(ids))


@lru_cache(maxsize=131072)
def _word_forms(word: str) -> frozenset[str]:
    """A word without its proclitics, and without its article: trigger and cue lists are
    written bare (اشتباكات matches الاشتباكات, والاشتباكات, بالاشتباكات)."""
    forms = set()
    for _, stem in proclitic_splits(word):
        forms.add(stem)
        if stem.startswith("ال") and len(stem) > 3:
            forms.add(stem[2:])
    return frozenset(forms)


def _is_title_line(text: str, start: int, end: int) -> bool:
    """The article's first line when a blank line follows it: its headline."""
    return not text[:start].strip() and ("\n\n" in text[start:end] or text[end:end + 1] == "\n")


def is_heading(sentence: str) -> bool:
    """A headline, subheading or photo caption: a short line with no sentence punctuation.
    Such lines repeat what the body reports."""
    line = sentence.strip()
    return "\n" not in line and len(line.split()) < 10 and not line.endswith((".", "!", "؟", "?"))

_CLAUSE_BREAK = re.compile(r"[،,;:؛]|\s(?:بينما|فيما|في حين|كما|لكن|إلا أن)\s")
# The breaks between two reports of one sentence (a comma also separates a report from its
# circumstances: "سيطر الثوار على إجدابيا، بعد أن انسحبت منها الكتائب").
_STRONG_BREAK = re.compile(r"[;؛]|\s(?:بينما|فيما|في حين|كما|لكن|إلا أن)\s")


class EventExtractor:
    """Events of one article from its text and resolved mentions."""

    def __init__(self, factions=None):
        self.factions = factions

    def extract(self, text: str, mentions: list[Mention], published: date | None,
                tokens: list[tuple[str, int, int]] | None = None) -> Extraction:
        """Events and control records of an article; `tokens` are `tokenize(text)` when the
        caller has them already."""
        out = Extraction()
        art_hash = content_hash(text)
        year = published.year if published else None
        starts = [m.start for m in mentions]  # mentions come sorted by position
        # the article's parties, most named first: a clash with one named side is fought
        # against the other party the article keeps naming
        all_toks = tokenize(text) if tokens is None else tokens
        all_actors = self._actor_mentions(text, year, all_toks)  # once, sorted by position
        all_actors = self._organisation_mentions(text, all_actors, all_toks)
        actor_starts = [a.start for a in all_actors]
        parties = Counter(a.faction_id for a in all_actors
                          if self.factions.get(a.faction_id).kind in ARMED_KINDS)
        # the article's words, once; each sentence takes its slice (offsets made relative)
        tok_starts = [t[1] for t in all_toks]
        reported: set[tuple[str, str, str | None]] = set()
        last_actors: list[str] = []
        # the date of the report the next sentence may continue, and where that report ended
        carry: EventDate | None = None
        carry_end = 0
        continued: Event | None = None  # the first event of the last sentence that had one
        for s_start, s_end in split_sentences(text):
            sentence = text[s_start:s_end]
            if "\n" in text[carry_end:s_start]:
                carry = None  # a new paragraph starts a new report
            places = mentions[bisect_left(starts, s_start):bisect_left(starts, s_end)]
            toks = [(f, a - s_start, b - s_start) for f, a, b in
                    all_toks[bisect_left(tok_starts, s_start):bisect_left(tok_starts, s_end)]]
            words = [t[0] for t in toks]
            time_words = date_mentions(words, published) if published else []
            if time_words:
                carry = None  # a sentence with its own time sets its own frame
            if is_heading(sentence) or _is_title_line(text, s_start, s_end):
                continue
            stems = [_word_forms(w) for w in words]
            # clause of each position: count the clause breaks before it (once per sentence)
            breaks = [b.start() + s_start for b in _CLAUSE_BREAK.finditer(sentence)]
            actor_mentions = all_actors[bisect_left(actor_starts, s_start):
                                        bisect_left(actor_starts, s_end)]
            speakers = self._speakers(actor_mentions, toks, stems, s_start, breaks)
            acting = [a for a in actor_mentions if id(a) not in speakers]
            actors = _distinct(a.faction_id for a in acting) if actor_mentions else last_actors
            armed = [f for f in actors if f not in UNARMED]
            if armed and not self._aside(stems, words):
                # a sentence without a named party continues the last one, placed or not
                # ("وكان حفتر قال ... معركة ... . مؤكدا تصميمه على مواصلة حملته ... في
                # بنغازي"); a visit or a plan told in passing does not take over
                last_actors = armed  # victims and protesters are not carried on
            if not places:
                continue
            # the report continues: no time of its own, no marker of background
            background = any(st & BACKGROUND for st in stems)
            inherited = carry if not time_words and not background else None
            strong = [b.start() + s_start for b in _STRONG_BREAK.finditer(sentence)]
            standing = [i for i, st in enumerate(stems) if st & STANDING]
            if standing and actors:
                for m in places:
                    if m.start - s_start > toks[standing[0]][1] and not m.place.is_area:
                        out.control.append(ControlRecord(m, actors[0], published, sentence,
                                                         s_start, s_end))
                continue
            actors_by_clause: dict[int, list[str]] = {}
            for a in acting:
                actors_by_clause.setdefault(bisect_right(breaks, a.start),
                                            []).append(a.faction_id)
            protest_clauses = {bisect_right(breaks, s_start + toks[i][1])
                               for i, st in enumerate(stems)
                               if any(TRIGGERS.get(x) == "protest" for x in st)}
            protest_clauses |= {bisect_right(breaks, a.start) for a in acting
                                if a.faction_id == "protesters"}
            usable = [m for m in places if m.place.kind != "country"
                      and not self._in_organisation_name(text, m)]
            by_clause: dict[int, list[Mention]] = {}
            for m in usable:
                by_clause.setdefault(bisect_right(breaks, m.start), []).append(m)
            found: dict[str, Event] = {}  # place id -> this sentence's event there
            for i, st in enumerate(stems):
                type_ = next((TRIGGERS[s] for s in st if s in TRIGGERS), None)
                if type_ is None or self._not_concrete(stems, i):
                    continue
                if i > 0 and stems[i - 1] & DEMONSTRATIVES:
                    continue  # "هذه المواجهات": the article recalls what it reported
                trig_clause = bisect_right(breaks, s_start + toks[i][1])
                if type_ in ("storming", "attack") and trig_clause in protest_clauses:
                    type_ = "protest"  # "اقتحم محتجون ...": a violent protest (DESIGN)
                if type_ == "shelling" and any(words[j] in AIR_WORDS
                                               for j in range(i + 1, min(i + 4, len(words)))):
                    type_ = "airstrike"
                trig_pos = s_start + toks[i][1]
                # "وامتدت المواجهات إلى ...": a sentence naming nobody continues the fight
                # reported before it (across a paragraph break too), same sides, same day
                same_fight = not actor_mentions and continued is not None \
                    and FAMILY[continued.type] == FAMILY[type_] == "fight"
                if same_fight and inherited is None and not time_words and not background \
                        and continued.date.basis != "publication date":
                    when = continued.date
                else:
                    when = inherited or resolve_date(words, published, near=i,
                                                     found=time_words)
                candidates = usable
                if words[i].lstrip("وفبل").startswith("ال") and not by_clause.get(
                        bisect_right(breaks, trig_pos)):
                    continue  # "الهجوم", "الغارة" with no place of its own: a report recalled
                if type_ == "mobilization":
                    # reinforcements "من مصراتة" come from there; the event is where they go
                    candidates = [m for m in usable if not _after_word(text, m, "من")]
                place = self._place_for(bisect_right(breaks, trig_pos), trig_pos, by_clause,
                                        candidates)
                if place is None or (not place.place.in_libya
                                     and FAMILY[type_] in ("control", "mobilization")):
                    continue  # taking ground abroad is not what Libyan news reports
                for target in self._coordinated(text, place, usable):
                    key = (_GROUP.get(FAMILY[type_], FAMILY[type_]), target.place.id,
                           when.iso())
                    if key in reported:
                        continue  # the article repeats an incident it already reported
                    reported.add(key)
                    prior = found.get(target.place.id)
                    if prior is not None and not _separate(prior.type, type_) \
                            and prior.date == when:
                        continue  # "اقتحمت ... وسيطرت على": one incident at one place
                    # ground changes hands by the party of its own clause ("أعلنت قوات الجيش
                    # سيطرتها"); fighting and strikes involve every party the sentence names
                    local = actors_by_clause.get(trig_clause)
                    if type_ == "territory_taken" and local:
                        # the taker first, then the side that lost the ground in the same
                        # part of the sentence ("، بعد أن انسحبت منها كتائب القذافي"; not the
                        # speaker of another part: "..., فيما أعلنت قوات الجيش سيطرتها")
                        seg = bisect_right(strong, trig_pos)
                        who = _distinct([*local, *(a.faction_id for a in acting
                                                   if bisect_right(strong, a.start) == seg)])
                    elif FAMILY[type_] == "control" and local:
                        who = _distinct(local)
                    elif type_ == "mobilization":
                        # a build-up is one side's: the party of its own clause, nobody else
                        who = _distinct(local) if local else actors[:1]
                    elif same_fight:
                        who = list(continued.actors)
                    else:
                        # victims and protesters belong to the part of the sentence that
                        # names them ("اشتباكات ...، فيما سقطت قذائف على مدنيين")
                        seg = bisect_right(strong, trig_pos)
                        who = [f for f in actors if f not in UNARMED] + [
                            f for f in _distinct(a.faction_id for a in acting
                                                 if bisect_right(strong, a.start) == seg)
                            if f in UNARMED]
                    # one named side: the other is the party the article keeps naming; a clash
                    # is fought against it, a withdrawal leaves the ground to it
                    other = next((f for f, _ in parties.most_common() if f not in who), None) \
                        if len(who) == 1 else None
                    if type_ == "armed_clash" and other and not same_fight and not self._sides_stated(
                            stems, toks, i, acting, s_start):
                        who = [*who, other]
                    if type_ == "protest":
                        # ACLED: protesters are the actor; a faction named is what they
                        # support or oppose, not a party to the event
                        who = ["protesters"]
                    elif type_ == "killing" and "civilians" not in who:
                        who = [*who, "civilians"]  # a deliberate killing has victims
                    # an abduction's victims are civilians only when the text says so (MPs,
                    # fighters and officials are not): DESIGN, "Actors"
                    event = self._event(art_hash, type_, target, who, other, when, words,
                                        sentence,
                                        s_start, s_end, toks[i][0])
                    if prior is None or FAMILY[prior.type] == FAMILY[type_]:
                        found.setdefault(target.place.id, event)
                    out.events.append(event)
            mine = [e for e in out.events if e.start == s_start]
            if time_words or inherited:
                # the next sentence may continue this report: "وامتدت المواجهات إلى ..."
                dated = [e for e in mine if e.date.basis != "publication date"]
                carry = dated[-1].date if dated else None
                carry_end = s_end
            if mine or acting:
                continued = mine[0] if mine else None  # other parties: another report
        _who_withdrew(out.events, parties)
        return out

    def _event(self, art_hash, type_, place, actors, opponent, when, words, sentence, s_start,
               s_end, trigger) -> Event:
        killed, injured = casualties(words) if FAMILY[type_] in (
            "fight", "remote", "civilians") else (None, None)
        precision = self._geo_precision(sentence, s_start, place)
        conf = 0.45 + (0.2 if actors else 0) + (0.15 if precision == 1 else 0) + 0.2 * place.score
        return Event(event_id(art_hash, s_start, s_end, type_, place.place.id), type_, place,
                     precision, actors, self._controller(type_, actors, opponent), when, killed,
                     injured,
                     sentence.strip(), s_start, s_end, min(conf, 1.0), trigger)

    @staticmethod
    def _coordinated(text: str, first: Mention, usable: list[Mention]) -> list[Mention]:
        """The place and the places listed after it: "منطقتي أبوشيبة والهيرة", "سوق الخميس
        ومنطقتي السبيعة والرقيعات"."""
        out = [first]
        later = [m for m in usable if m.start > first.start]
        for m in later:
            gap = re.sub(r"[«»\"'“”]", " ", text[out[-1].end:m.start])
            words = gap.split()
            if len(gap) > 20 or len(words) > 1 or not (m.text.startswith("و") or "،" in gap
                                                       or "," in gap or gap.strip().startswith("و")):
                break
            if words and not normalize_name(words[0]).lstrip("و").startswith(LIST_WORDS):
                break
            out.append(m)
        return out

    def _actor_mentions(self, text: str, year: int | None, tokens=None) -> list:
        if self.factions is None:
            return []
        # weak aliases (a bare country name) name a party, not necessarily an actor
        return [a for a in self.factions.find_actors(text, year, tokens)
                if a.confidence >= MIN_ACTOR_CONFIDENCE
                and self.factions.get(a.faction_id).kind not in NON_ACTING_KINDS]

    def _organisation_mentions(self, text: str, actors: list, tokens) -> list:
        """"التنظيم" alone is the jihadist organisation the article has named before it (or
        names most): "غارات على مواقع التنظيم بسرت" after "تنظيم الدولة" is ISIS."""
        if self.factions is None:
            return actors
        jihadist = [a for a in actors if self.factions.get(a.faction_id).kind == "jihadist"]
        if not jihadist:
            return actors
        most = Counter(a.faction_id for a in jihadist).most_common(1)[0][0]
        taken = [(a.start, a.end) for a in actors]
        extra = []
        for form, start, end in tokens:
            if not {st for _, st in proclitic_splits(form)} & ORGANISATION:
                continue
            if any(a <= start < b for a, b in taken):
                continue  # part of a name ("تنظيم الدولة")
            before = [a for a in jihadist if a.end <= start]
            fid = before[-1].faction_id if before else most
            extra.append(ActorMention(fid, text[start:end], start, end, 0.7, "التنظيم"))
        return sorted([*actors, *extra], key=lambda a: a.start) if extra else actors

    @staticmethod
    def _aside(stems: list[frozenset[str]], words: list[str]) -> bool:
        """A sentence that speaks of no fighting (no trigger, no aircraft) and tells of a
        meeting, a call, a plan or another subject ("من جانب آخر، أعلن ... الناتو ... بهدف
        بناء جيش"): its parties are not the ones the next sentence continues with."""
        if any(x in TRIGGERS for st in stems for x in st) or any(st & AIR_WORDS for st in stems):
            return False
        if any(st & (SPEAKER_WORDS | PLAN) for st in stems):
            return True
        return any(w in ("اخر", "اخري") and k > 0 and words[k - 1] in SHIFT_WORDS
                   for k, w in enumerate(words))

    @staticmethod
    def _speakers(actor_mentions, toks, stems, s_start: int, breaks: list[int]) -> set[int]:
        """ids of the mentions that are the subject or object of a denial, condemnation or
        call (SPEAKER_WORDS) a few words before them in the same clause: "بينما نفى اللواء
        المتقاعد خليفة حفتر أن ...", "بعد يوم من تنديد المؤتمر بالحملة"."""
        out: set[int] = set()
        starts = [t[1] + s_start for t in toks]
        for a in actor_mentions:
            k = bisect_left(starts, a.start)
            for j in range(k - 1, max(-1, k - 7), -1):
                if bisect_right(breaks, starts[j]) != bisect_right(breaks, a.start):
                    break  # another clause
                if any(x in TRIGGERS for x in stems[j]):
                    break  # "نفى ... مشاركة ... في اشتباكات قوات X": X is a party
                if stems[j] & SPEAKER_WORDS:
                    out.add(id(a))
                    break
        return out

    @staticmethod
    def _sides_stated(stems, toks, i: int, acting, s_start: int) -> bool:
        """The sentence says between whom the fighting (or the tension that led to it) is ("اشتباكات بين قوات X ومسلحين من
        Y", "بين مجموعتين مسلحتين تابعتين لحكومة الوحدة"): the article's other party is not
        added as the unnamed side."""
        for j in range(len(stems) - 1):
            if "بين" in stems[j]:
                follow = stems[j + 1:j + 4]
                if any(st & SIDE_WORDS for st in follow):
                    return True
                end = toks[min(j + 3, len(toks) - 1)][2] + s_start
                return any(toks[j][2] + s_start <= a.start < end for a in acting)
        return False

    @staticmethod
    def _not_concrete(stems: list[set[str]], i: int) -> bool:
        """A denial, plan, threat or diplomatic word governs the trigger (within the few words
        before it), or the trigger is a noun of a future operation."""
        window = stems[max(0, i - 10):i]
        for st in window:
            if st & DENIAL or st & PLAN:
                return True
        if any(st & NEGATION for st in stems[max(0, i - 6):i]):
            return True  # "لن تستعيد السيطرة", "لا يستقيم ... إلا بالسيطرة"
        window = stems[max(0, i - 3):i]
        return any(st & DIPLOMACY for st in window)

    @staticmethod
    def _place_for(trig_clause: int, trig_pos: int,
                   by_clause: dict[int, list[Mention]], usable: list[Mention]) -> Mention | None:
        """The place of the trigger's clause: the first after it, else the last before it.
        A clause without a place takes the sentence's first town or facility (its topic: "
        وسيطرت قوات ... على حاجز جسر 27 ..., لكنها انسحبت"), never a region. Places abroad
        only when nothing in Libya is named; never the country as a whole."""
        if not usable:
            return None
        allowed = {id(m) for m in usable}
        same = [m for m in by_clause.get(trig_clause, ()) if id(m) in allowed]
        if not same:
            topic = [m for m in usable if not m.place.is_area]
            return topic[0] if topic else None
        libyan = [m for m in same if m.place.in_libya] or same
        after = [m for m in libyan if m.start >= trig_pos]
        if after:
            return min(after, key=lambda m: m.start)
        return max(libyan, key=lambda m: m.start)

    @staticmethod
    def _in_organisation_name(text: str, m: Mention) -> bool:
        """"قوة حماية طرابلس", "مجلس شورى مجاهدي درنة", "كتائب ثوار بنغازي": the place names
        who acts, not where."""
        before = [normalize_name(w) for w in text[max(0, m.start - 16):m.start].split()]
        return bool(before) and (before[-1] in ORG_HEADS
                                 or " ".join(before[-2:]) in ORG_PHRASES)

    @staticmethod
    def _geo_precision(sentence: str, s_start: int, m: Mention) -> int:
        if m.place.kind in AREA_KINDS:
            return 3
        before = sentence[max(0, m.start - s_start - 12):m.start - s_start]
        if re.search(r"(جنوب|شمال|شرق|غرب|قرب|ضواحي|محيط|أطراف|اطراف)ي?\s*$", before):
            return 2
        return 1

    @staticmethod
    def _controller(type_: str, actors: list[str], opponent: str | None) -> str | None:
        if type_ == "territory_taken" and actors:
            return actors[0]
        if type_ == "withdrawal":
            # "انسحبت X بعد اشتباك مع Y": Y holds the ground
            return actors[1] if len(actors) >= 2 else opponent
        return None
