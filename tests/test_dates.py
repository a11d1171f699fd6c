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
