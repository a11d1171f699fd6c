"""Event dates from the article's publication date and the time words of a sentence.

News dates events relative to the day it is published: اليوم، أمس، أمس الأول، الليلة الماضية,
weekday names (الخميس = the last Thursday on or before publication), "منذ 4 أبريل", "الأسبوع
الماضي". Without a publication date nothing is invented: the date stays None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

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


def resolve_date(words: list[str], published: date | None) -> EventDate:
    """The date a sentence's event happened, from its normalised words and the publication
    date. Explicit dates win over relative words; without any, the publication date stands
    with a week's precision (news reports what happened in the days before)."""
    if published is None:
        return EventDate(None, None, "no publication date")
    n = len(words)
    for i, w in enumerate(words):
        # "4 أبريل" / "منذ 4 نيسان" / "4 أبريل 2019"
        if w.isdigit() and 1 <= int(w) <= 31 and i + 1 < n:
            month = MONTHS.get(words[i + 1])
            if month is None and i + 2 < n and words[i + 1] in _MONTH_FIRST:
                month = MONTHS.get(f"{words[i + 1]} {words[i + 2]}")
            if month:
                year = published.year
                nxt = words[i + 2] if i + 2 < n else ""
                if nxt.isdigit() and len(nxt) == 4:
                    year = int(nxt)
                elif month > published.month:
                    year -= 1  # "4 ديسمبر" in a January article is last December
                try:
                    return EventDate(date(year, month, int(w)), "day", f"{w} {words[i + 1]}")
                except ValueError:
                    pass
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < n else ""
        if w == "امس":
            if nxt == "الاول":
                return EventDate(published - timedelta(days=2), "day", "أمس الأول")
            return EventDate(published - timedelta(days=1), "day", "أمس")
        if w == "الليله" and nxt == "الماضيه":
            return EventDate(published - timedelta(days=1), "day", "الليلة الماضية")
        if w in WEEKDAYS and (i == 0 or words[i - 1] not in ("سوق",)):
            last = nxt in ("الماضي", "الماضيه", "الماضيين") or (
                i + 3 < n and words[i + 3] in ("الماضيين",))
            if nxt in ("المقبل", "المقبله", "القادم", "القادمه"):
                continue  # a day to come is no event date
            return EventDate(_weekday_before(published, WEEKDAYS[w], last), "day", w)
        if w == "اليوم" or (w in ("صباح", "مساء", "فجر", "ظهر", "ليل") and nxt == "اليوم"):
            return EventDate(published, "day", "اليوم")
        if w == "الاسبوع" and nxt == "الماضي":
            return EventDate(published - timedelta(days=7), "week", "الأسبوع الماضي")
        if w == "الشهر" and nxt == "الماضي":
            return EventDate(published - timedelta(days=30), "month", "الشهر الماضي")
    return EventDate(published, "week", "publication date")
