"""Event dates from the article's publication date and the time words of a sentence.

News dates events relative to the day it is published: اليوم، أمس، أمس الأول، الليلة الماضية,
weekday names (الخميس = the last Thursday on or before publication), "منذ 4 أبريل", "الأسبوع
الماضي". Without a publication date nothing is invented: the date stays None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from geo.text import normalize_name

# Python's weekday(): Monday = 0
WEEKDAYS = {normalize_name(w): n for w, n in (
    ("الاثنين", 0), ("الإثنين", 0), ("الثلاثاء", 1), ("الأربعاء", 2), ("الخميس", 3),
    ("الجمعة", 4), ("السبت", 5), ("الأحد", 6))}

MONTHS = {normalize_name(w): n for w, n in (
    ("يناير", 1), ("فبراير", 2), ("مارس", 3), ("أبريل", 4), ("ابريل", 4), ("مايو", 5),
    ("يونيو", 6), ("يونيه", 6), ("يوليو", 7), ("يوليه", 7), ("أغسطس", 8), ("سبتمبر", 9),
    ("أكتوبر", 10), ("نوفمبر", 11), ("ديسمبر", 12),
    # Levantine month names, common in pan-Arab outlets ("نيسان/أبريل")
    ("كانون الثاني", 1), ("شباط", 2), ("آذار", 3), ("نيسان", 4), ("أيار", 5), ("حزيران", 6),
    ("تموز", 7), ("آب", 8), ("أيلول", 9), ("تشرين الأول", 10), ("تشرين الثاني", 11),
    ("كانون الأول", 12),
    # the month names of Gaddafi-era Libya, still seen in Libyan sources
    ("أي النار", 1), ("النوار", 2), ("الربيع", 3), ("الطير", 4), ("الماء", 5), ("الصيف", 6),
    ("ناصر", 7), ("هانيبال", 8), ("الفاتح", 9), ("التمور", 10), ("الحرث", 11),
    ("الكانون", 12))}
# one-word names only are looked up word by word; the two-word ones are joined first
_MONTH_FIRST = {k.split(" ")[0] for k in MONTHS}


# Words before a date that make it a name: the 17 February revolution, an anniversary.
_NAMED_DAYS = frozenset(normalize_name(w) for w in "ثورة ذكرى انتفاضة حركة شباب ميدان".split())

# Days of the month written as ordinals: "في الثامن عشر من مايو", "الحادي والعشرين من يونيو".
_ORDINALS = {normalize_name(w): n for w, n in (
    ("الأول", 1), ("الثاني", 2), ("الثالث", 3), ("الرابع", 4), ("الخامس", 5), ("السادس", 6),
    ("السابع", 7), ("الثامن", 8), ("التاسع", 9), ("العاشر", 10), ("الحادي", 1),
    ("الحادية", 1))}
_TENS = {normalize_name(w): n for w, n in (("عشر", 10), ("عشرة", 10))}
_ROUND = {normalize_name(w): n for w, n in (("العشرين", 20), ("الثلاثين", 30))}
# Counts of days before a time word: "قبل يومين", "قبل ثلاثة أيام", "بعد يوم من".
_DAY_COUNTS = {normalize_name(w): n for w, n in (
    ("يوم", 1), ("يوما", 1), ("يومين", 2), ("يومان", 2))}
_COUNT_WORDS = {normalize_name(w): n for w, n in (
    ("ثلاثة", 3), ("اربعة", 4), ("أربعة", 4), ("خمسة", 5), ("ستة", 6), ("سبعة", 7),
    ("ثمانية", 8), ("تسعة", 9), ("عشرة", 10))}
# "قبل نحو عشرة أيام", "قبل حوالي أسبوعين": an approximate count (the date keeps a week's
# precision).
_ABOUT = frozenset(normalize_name(w) for w in ("نحو", "حوالي", "قرابة", "زهاء"))
# A date that holds only for what follows it: "بعد يومين من شن هجوم" dates the attack, not
# the sentence's main verb ("وتأتي المواجهات بعد يوم من تنديد ...").
FORWARD = "forward"


@dataclass(frozen=True, slots=True)
class EventDate:
    date: date | None
    precision: str | None  # day | week | month
    basis: str  # the words it rests on, or "publication date"

    def iso(self) -> str | None:
        return self.date.isoformat() if self.date else None


def parse_published(value: str | None) -> date | None:
    """A publication date from metadata ("2019-04-05", "2019-04-05T10:00:00Z"); None if absent
    or malformed."""
    if not value or not isinstance(value, str):
        return None
    m = re.match(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})", value)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _weekday_before(published: date, weekday: int, last_week: bool) -> date:
    back = (published.weekday() - weekday) % 7
    if last_week and back == 0:
        back = 7
    return published - timedelta(days=back)


def date_mentions(words: list[str], published: date) -> list[tuple[int, EventDate]]:
    """Every time expression of a sentence as (word index, date)."""
    out: list[tuple[int, EventDate]] = []
    words = [_bare(w) for w in words]
    n = len(words)
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < n else ""
        month = MONTHS.get(w)
        if month is None and w in _MONTH_FIRST:
            month = MONTHS.get(f"{w} {nxt}")
        if month and i > 1 and words[i - 2] in _NAMED_DAYS:
            continue  # "ثورة 17 فبراير" names a revolution, not a date
        day = _ordinal_day(words, i) if month else None
        if day is not None:
            first, mday = day
            if first > 0 and words[first - 1] in _NAMED_DAYS:
                continue  # "ثورة السابع عشر من فبراير" names a revolution, not a date
            year = _year_after(words, i, published, month)
            try:
                out.append((i, EventDate(date(year, month, mday), "day",
                                             " ".join(words[first:i + 1]))))
            except ValueError:
                pass
            continue
        if month and i > 0 and words[i - 1].isdigit() and 1 <= int(words[i - 1]) <= 31:
            # "4 أبريل" / "منذ 4 نيسان" / "4 أبريل 2019"
            year = _year_after(words, i, published, month)
            try:
                out.append((i - 1, EventDate(date(year, month, int(words[i - 1])), "day",
                                             f"{words[i - 1]} {w}")))
            except ValueError:
                pass
            continue
        if month and (i > 0 and words[i - 1] in ("في", "خلال", "منذ", "مطلع", "اواخر", "منتصف",
                                                  "مواجهات", "شهر")
                      or (i + 1 < n and (nxt.isdigit() and len(nxt) == 4 or nxt == "الماضي"))):
            # "في يونيو 2018", "في أبريل الماضي": a month, dated to its 15th
            year = _year_after(words, i, published, month)
            out.append((i, EventDate(date(year, month, 15), "month", w)))
            continue
        if w == "امس":
            if nxt == "الاول":
                out.append((i, EventDate(published - timedelta(days=2), "day", "أمس الأول")))
            else:
                out.append((i, EventDate(published - timedelta(days=1), "day", "أمس")))
        elif w == "غداه":
            # "غداة اشتباكات": said the day after the clashes, which were on the day before
            out.append((i, EventDate(published - timedelta(days=1), "day", "غداة")))
        elif w == "الليله" and nxt == "الماضيه":
            out.append((i, EventDate(published - timedelta(days=1), "day", "الليلة الماضية")))
        elif w in WEEKDAYS and i > 1 and words[i - 2] == "يومي":
            continue  # "يومي الجمعة والسبت": the pair is dated by its first day
        elif w in WEEKDAYS and (i == 0 or words[i - 1] != "سوق"):
            if nxt in ("المقبل", "المقبله", "القادم", "القادمه"):
                continue  # a day to come is no event date
            last = nxt in ("الماضي", "الماضيه", "الماضيين") or "الماضيين" in words[i + 1:i + 4]
            out.append((i, EventDate(_weekday_before(published, WEEKDAYS[w], last), "day", w)))
        elif w == "اليوم" or (w in ("صباح", "مساء", "فجر", "ظهر", "ليل") and nxt == "اليوم"):
            out.append((i, EventDate(published, "day", "اليوم")))
        elif w == "الاسبوع" and nxt == "الماضي":
            out.append((i, EventDate(published - timedelta(days=7), "week", "الأسبوع الماضي")))
        elif w == "الشهر" and nxt == "الماضي":
            out.append((i, EventDate(published - timedelta(days=30), "month", "الشهر الماضي")))
        elif w in _DAY_COUNTS and i > 0 and words[i - 1] in ("قبل", "بعد", "منذ"):
            # "قبل يومين" = two days ago; "بعد يومين من شن هجوم": the attack two days before
            # the time of the report (README: counted back from the publication date)
            back = _DAY_COUNTS[w]
            basis = f"{words[i - 1]} {w}"
            if words[i - 1] == "بعد":
                if nxt != "من":
                    continue  # "بعد يومين" alone points forward from some other event
                basis = f"{FORWARD}: {basis} من"
            out.append((i, EventDate(published - timedelta(days=back), "day", basis)))
        elif w in ("ايام", "اسابيع") and i > 0 and words[i - 1] == "بعد" and nxt == "من":
            # "بعد أيام من إعلان السيطرة": the takeover a few days before (README: pub - 3)
            back = 3 if w == "ايام" else 14
            out.append((i, EventDate(published - timedelta(days=back), "week",
                                     f"{FORWARD}: بعد {w} من")))
        elif w in ("ايام", "يوما") and i > 1 and (
                words[i - 1] in _COUNT_WORDS or words[i - 1].isdigit()) and (
                words[i - 2] == "قبل" or (i > 2 and words[i - 2] in _ABOUT
                                          and words[i - 3] == "قبل")):
            # "قبل ثلاثة أيام", "قبل نحو عشرة أيام", "قبل 12 يوما"
            back = _COUNT_WORDS.get(words[i - 1]) or int(words[i - 1])
            about = words[i - 2] in _ABOUT
            out.append((i, EventDate(published - timedelta(days=back), "week" if about else "day",
                                     f"قبل {'نحو ' if about else ''}{words[i - 1]} أيام")))
        elif (w == "ايام" and i > 0 and words[i - 1] == "قبل") or (
                w == "الايام" and nxt == "الماضيه"):
            out.append((i, EventDate(published - timedelta(days=3), "week", "قبل أيام")))
    return out


def _ordinal_day(words: list[str], i: int) -> tuple[int, int] | None:
    """(index of the first word, day) of an ordinal day before "من" and the month at `i`:
    "الثامن عشر من مايو" -> 18, "الحادي والعشرين من" -> 21, "العشرين من" -> 20."""
    if i < 2 or words[i - 1] != "من":
        return None
    j = i - 2
    w = words[j]
    if w in _ROUND:  # "العشرين", "الحادي والعشرين" (the و is gone: see _bare)
        if j > 0 and words[j - 1] in _ORDINALS:
            return j - 1, _ORDINALS[words[j - 1]] + _ROUND[w]
        return j, _ROUND[w]
    if w in _TENS and j > 0 and words[j - 1] in _ORDINALS:
        return j - 1, _ORDINALS[words[j - 1]] + _TENS[w]
    if w in _ORDINALS and w not in ("الحادي", "الحاديه"):
        return j, _ORDINALS[w]
    return None


@lru_cache(maxsize=65536)
def _bare(word: str) -> str:
    """A time word without the conjunction or preposition on it: وقبل -> قبل, وأمس -> امس,
    بالأمس -> امس."""
    if word in MONTHS or word in _MONTH_FIRST:
        return word  # فبراير is not ف + براير
    if word[:1] in ("و", "ف") and len(word) > 3:
        word = word[1:]
    if word.startswith("بال") and len(word) > 4:
        word = word[1:]
    return "امس" if word == "الامس" else word


def _year_after(words: list[str], i: int, published: date, month: int) -> int:
    for j in (i + 1, i + 2):
        if j < len(words) and words[j].isdigit() and len(words[j]) == 4:
            return int(words[j])
    # "4 ديسمبر" or "أبريل الماضي" in an earlier month of the year is last year's
    return published.year - 1 if month > published.month else published.year


def resolve_date(words: list[str], published: date | None, near: int | None = None,
                 found: list[tuple[int, EventDate]] | None = None) -> EventDate:
    """The date a sentence's event happened, from its normalised words and the publication
    date: the time expression nearest the event's trigger (word index `near`), else the first.
    Without any, the publication date stands with a week's precision (news reports what
    happened in the days before). `found` is `date_mentions(words, published)` when the caller
    asks for several triggers of one sentence."""
    if published is None:
        return EventDate(None, None, "no publication date")
    if found is None:
        found = date_mentions(words, published)
    if not found:
        return EventDate(published, "week", "publication date")
    if near is None:
        return found[0][1]
    # "بعد يومين من X" dates only the X that follows it
    usable = [f for f in found if not f[1].basis.startswith(FORWARD) or 0 < near - f[0] <= 4]
    if not usable:
        return EventDate(published, "week", "publication date")
    return min(usable, key=lambda f: (abs(f[0] - near), f[0] > near))[1]
