from datetime import date

import pytest

from geo.dates import parse_published, resolve_date
from geo.text import tokenize


def when(sentence, published):
    return resolve_date([t[0] for t in tokenize(sentence)], published)


FRI = date(2019, 4, 5)  # seed 001 was published on Friday 5 April 2019


@pytest.mark.parametrize("sentence,expected,precision", [
    ("شهدت العاصمة الليبية، اليوم الجمعة، اشتباكات", date(2019, 4, 5), "day"),
    ("بدأ الجيش الوطني الليبي الخميس هجوما", date(2019, 4, 4), "day"),
    ("وكان المؤتمر رفع جلسته أمس", date(2019, 4, 4), "day"),
    ("احتفلت قوات حفتر أمس الأول ببسط سيطرتها", date(2019, 4, 3), "day"),
    ("قال في مؤتمر صحفي عقده الليلة الماضية", date(2019, 4, 4), "day"),
    ("أعلن مساء الأربعاء الإعداد لهجوم", date(2019, 4, 3), "day"),
    ("ما حدث يوم الجمعة الماضية من تناحر", date(2019, 3, 29), "day"),
    ("تتواصل المعارك منذ 4 أبريل جنوب طرابلس", date(2019, 4, 4), "day"),
    ("في 20 نيسان 2018 اندلعت اشتباكات", date(2018, 4, 20), "day"),
    ("اندلعت في 28 ديسمبر اشتباكات", date(2018, 12, 28), "day"),  # last December
    ("قصفت الطائرات مواقع الأسبوع الماضي", date(2019, 3, 29), "week"),
    ("قصفت الطائرات مواقع المسلحين", date(2019, 4, 5), "week"),  # only the article's date
    # days of the month written out as ordinals, and counts of days before or after
    # "في الثامن عشر من مايو": an ordinal day of a month is a day, like "18 مايو"
    ("قبل أن تدخلها القوات في الثامن عشر من مارس", date(2019, 3, 18), "day"),
    ("سقطت البلدة في الحادي والعشرين من فبراير", date(2019, 2, 21), "day"),
    ("وانسحبت الكتائب في العشرين من يناير", date(2019, 1, 20), "day"),
    # "قبل يومين" / "قبل ثلاثة أيام" count back from the publication date
    ("قصفت الطائرات مواقع في الجفرة قبل يومين", date(2019, 4, 3), "day"),
    ("اندلعت الاشتباكات قبل ثلاثة أيام", date(2019, 4, 2), "day"),
    # "بعد أيام من X": X a few days before the report (EVENTS-README: publication - 3 days)
    ("جاء ذلك بعد أيام من إعلان السيطرة على المدينة", date(2019, 4, 2), "week"),
])
def test_relative_and_explicit_dates(sentence, expected, precision):
    d = when(sentence, FRI)
    assert (d.date, d.precision) == (expected, precision)


def test_a_day_to_come_is_not_the_event_date():
    # "الجمعة المقبلة" is a plan; the date falls back to the publication date
    assert when("سيعقد اجتماع الجمعة المقبلة", FRI).precision == "week"


def test_souq_al_khamis_is_not_thursday():
    assert when("سيطرت القوات على سوق الخميس", FRI).precision == "week"


def test_no_publication_date_invents_nothing():
    d = when("اشتباكات اليوم في طرابلس", None)
    assert d.date is None and d.iso() is None


@pytest.mark.parametrize("value,expected", [
    ("2019-04-05", date(2019, 4, 5)), ("2019-04-05T10:00:00Z", date(2019, 4, 5)),
    ("05/04/2019", None), ("2019-02-30", None), ("", None), (None, None), (20190405, None),
])
def test_publication_dates_from_metadata(value, expected):
    assert parse_published(value) == expected


def test_named_revolution_day_is_not_a_date():
    # "ثورة 17 فبراير" is the name of the 2011 revolution
    assert when("محاولة انقلاب على ثورة 17 فبراير في بنغازي", FRI).precision == "week"


def test_time_words_with_a_conjunction_and_day_pairs():
    assert when("وقبل ايام ترددت تقارير عن تظاهرات", FRI).date == date(2019, 4, 2)
    assert when("وأمس شهدت المدينة اشتباكات", FRI).date == date(2019, 4, 4)
    # "يومي الجمعة والسبت الماضيين": dated by the first day of the pair
    assert when("شهدت طرابلس يومي الجمعة والسبت الماضيين اشتباكات", FRI).date == date(2019, 3, 29)


def test_an_ordinal_date_that_names_a_revolution_is_no_date():
    # "ثورة السابع عشر من فبراير" is the 17 February revolution, as "ثورة 17 فبراير" is
    assert when("خلال ثورة السابع عشر من فبراير اندلعت معارك", FRI).basis == "publication date"


def test_after_n_days_of_dates_only_what_follows_it():
    # "وتأتي المواجهات بعد يوم من تنديد المؤتمر": the condemnation was the day before, the
    # clashes are not; "بعد يومين من شن هجوم": the attack was two days before the report
    words = [t[0] for t in tokenize("وتأتي المواجهات بعد يوم من تنديد المؤتمر")]
    assert resolve_date(words, FRI, near=1).basis == "publication date"
    words = [t[0] for t in tokenize("مؤكدا مواصلة حملته وذلك بعد يومين من شن هجوم على المسلحين")]
    got = resolve_date(words, FRI, near=words.index("هجوم"))
    assert got.date == date(2019, 4, 3) and got.precision == "day"


def test_february_keeps_its_first_letter():
    # فبراير starts with ف, which is also the conjunction "ف": it must not be cut to براير
    assert when("وكان التنظيم قد سيطر على البلدة في فبراير الماضي", FRI).date == date(2019, 2, 15)


def test_an_approximate_count_of_days_before():
    # "قبل نحو عشرة أيام": ten days back, a week's precision because it is approximate
    d = when("انفجرت سيارة مفخخة قبل نحو عشرة أيام عند بوابة أمنية", date(2015, 6, 10))
    assert (d.date, d.precision) == (date(2015, 5, 31), "week")
    d = when("قتل ثلاثة جنود قبل 12 يوما", date(2015, 6, 10))
    assert (d.date, d.precision) == (date(2015, 5, 29), "day")
