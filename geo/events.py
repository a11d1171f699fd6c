"""Conflict events and control statements from an article's sentences and resolved places.

A sentence yields an event when it holds a trigger word of an event type (اشتباكات، غارة،
سيطرت ...) that no denial, plan, threat or diplomacy word governs, and a place mention in the
same clause. The event takes the place nearest its trigger (after it first, as Arabic puts the
place after the verb), the factions named in the sentence, the casualties stated, and a date from
the publication date and the sentence's time words. "يسيطر حفتر على سبها" (present tense,
standing control) gives a control record instead of an event.

The word lists below are the rules' data, each with the case it is for:
- what is no event: a clause opened by a speech verb (SPEECH_HEADS), the end of fighting
  (CESSATION), a lasting state "منذ" + a month (SPAN_WORDS), an operations-room name
  (OPERATION_NAME), a definite trigger noun followed by a negation or a future;
- which place is not the event's: datelines, directions (DIRECTION), origins (ORIGIN_VERBS),
  hospitals (HOSPITAL), where the displaced go (MOVE_WORDS), where an attack almost got to
  (ALMOST), a place that only locates another (COMPASS); "المدينة" is the town named before;
- one incident told twice: a strike's own verb ("غارة استهدفت") is no second attack, artillery
  inside a clash is the clash, and a town-level report is the umbrella of the same report at
  its neighbourhoods in another sentence (_finest); a control change with no time of its own
  at the place of a fight told just before (_told_just_before); an advance (ADVANCE) to a
  place fought over or taken that day;
- deaths and references: "مقتل" + a title, "لقي ... حتفه" + how (a killing, not in a sentence
  of fighting); a cause or a start ("على خلفية", "منذ بدء"), a purpose ("للسيطرة على") and an
  imminent attack ("بقرب هجوم") are no event; "قصف مماثل" / "غارات على المجمع" in a sentence
  naming no place take the place of the event referred to (_recalled); an accusation that
  names a strike gives the accused side to the strike told before (_blame).
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


def _norm_set(words: str) -> frozenset[str]:
    """The normalised forms of space-separated words."""
    return frozenset(normalize_name(w) for w in words.split())


# One-word triggers, in normalised form after proclitics are removed. Each type lists the forms
# MSA news uses (Al Jazeera, Al Arabiya, Alwasat, Anadolu, BBC, Reuters Arabic): past, present
# and passive verbs in the 3rd person, their masdars, and the nouns of the incident. Words that
# are ambiguous outside a conflict report are gated below (ARMED_CONTEXT, DETENTION, STRICT) or
# left out: "فر" (وفر "provided"), "أوقف" ("stopped"), "تقدم" ("progress", "applied"),
# "إخلاء" (an evacuation), "سيطرة" ("تحت سيطرة" is standing control), "ألغام" (demining).
TRIGGERS = _lex({
    "armed_clash": "اشتباكات اشتباك اشتباكا اشتبكت اشتبك اشتبكوا اشتبكتا تشتبك يشتبك "
                   "يشتبكون تشتبكان مواجهات مواجهة معارك معركة اقتتال قتال مناوشات "
                   "مناوشة",
    "attack": "هجوم هجوما هجمات هجومين هاجم هاجمت هاجموا هوجم هوجمت "
              "كمين كمينا كمائن استهدف استهدفت استهدفتها استهدفته استهدفوا استهدفها "
              "استهدفه استهداف استهدفتهم "
              # "اعتداء مسلح على مقر ...": only with an armed party (ARMED_CONTEXT)
              "اعتداء اعتداءات اعتدى اعتدت اعتدوا",
    "storming": "اقتحام اقتحم اقتحمت اقتحموا اقتحمها اقتحمه اقتحمته "
                "تقتحم تقتحمها يقتحم يقتحمون اقتحمتها اقتحما دهم داهمت داهم "
                "داهموا دهمت دهموا مداهمة مداهمات",
    "airstrike": "غارة غارات الغارة الغارات غارتين غارتان غارتي مسيرة مسيرات",
    # "قذيفة" (one shell) as well as "قذائف": "قذيفة سقطت على منزل"
    "shelling": "قصف قصفت قصفه قصفها قصفتها قصفوا يقصف تقصف قذائف القذائف قذيفة "
                "قذيفتين قذيفتان صواريخ صاروخ صاروخا صاروخين قصفا هاون غراد",
    "explosion": "انفجار انفجارا انفجارات انفجر انفجرت تفجير تفجيرا تفجيرات فجرت فجروا "
                 "مفخخة مفخخ مفخخات ناسفة ناسفتين انتحاري انتحارية انتحاريا",
    "territory_taken": "سيطرت سيطر سيطروا سيطرته سيطرتها سيطرتهم السيطرة استعادت استعاد "
                       "استعادوا استعادة استرجعت استرجع استرجعوا "
                       "استرجاع حررت حرر حرروا تحرير بسطت بسط بسطوا انتزعت انتزع "
                       "انتزعوا "
                       # "استولت قوات ... على": also seizing funds or a car (ARMED_CONTEXT)
                       "استولت استولى استولوا الاستيلاء "
                       # forces entering a town: "دخلت قوات الوفاق مدينة العجيلات" (only
                       # with an armed party in the clause: ARMED_ONLY)
                       "دخلت دخلوا دخل",
    # "التراجع من بلدة بن جواد" (the bare noun "تراجع" is also a fall in output or prices)
    "withdrawal": "انسحاب انسحبت انسحب انسحبوا الانسحاب "
                  "تنسحب ينسحب ينسحبون تراجعت تراجعوا التراجع تقهقرت تقهقر تقهقروا "
                  # "أخلت القوات مواقعها": with an armed party (ARMED_ONLY); "فرت": STRICT
                  "أخلت أخلوا فرت فروا",
    # kidnapping; detention of civilians, activists, journalists or migrants (DETENTION)
    "abduction": "اختطاف اختطفت خطف اختطف خطفت اختطفوا خطفوا اختطفته اختطفتها اختطفه "
                 "اعتقل اعتقلت اعتقلوا اعتقال احتجز احتجزت "
                 "احتجزوا احتجاز اقتاد اقتادت اقتادوا اقتادوه "
                 "اقتادته اقتيد",
    # the verb as well as the noun: "اغتال مسلحون مجهولون الناشط ..."
    "killing": "اغتيال اغتيل اغتيلت اغتال اغتالت اغتالوا إعدام اعدام "
               "أعدم أعدمت أعدموا أعدمته إعدامات",
    "protest": "احتجاج احتجاجا احتجاجات احتجاجية احتج احتجت احتجوا تظاهرة تظاهرات مظاهرة "
               "مظاهرات تظاهر تظاهروا يتظاهرون تظاهرت متظاهرون المتظاهرون متظاهرين "
               "المتظاهرين محتجون المحتجون محتجين المحتجين اعتصام اعتصاما اعتصامات "
               "اعتصم اعتصموا معتصمون معتصمين إضراب اضراب إضرابا",
    # a present-tense advance is a hedged one ("قواتنا تتقدم على محورين نحو سرت"): a column
    # on the move toward a place, not ground taken (EVENTS-README: "تقدم ... في اتجاه")
    "mobilization": "حشد حشدت حشدوا حشود حشودا تحشيد تحشيدات النفير تعبئة احتشدت احتشد "
                    "احتشدوا استنفار استنفرت تعزيزات أرتال أرتالا رتل رتلا تقدمت تقدموا "
                    "زحف زحفت وصلت تتقدم يتقدم يتقدمون",
})
# Possessive masdars ("هجومها على طرابلس", "انسحابه من باب العزيزية", "بعد اختطافه") are left
# out: they name an incident the article or the reader already knows, in passing.
# Words that are a trigger only as written, without a proclitic: "وفرت" is "provided".
STRICT = frozenset(normalize_name(w) for w in ("فرت", "فروا"))
# Triggers that are an event only when an armed party is in the sentence (a faction, or
# "مسلحون", "ميليشيا", "قوات" ...): "اعتداء مسلحين على مقر" is an attack, "الاعتداء على المال
# العام" is not; "استولى مسلحون على مقر" takes it, "الاستيلاء على الأموال" does not.
ARMED_CONTEXT = _norm_set("اعتداء اعتداءات اعتدى اعتدت اعتدوا استولت استولى استولوا الاستيلاء "
                          "مداهمة مداهمات داهموا دهمت دهموا")
TAKE_OVER = _norm_set("استولت استولى استولوا الاستيلاء")
ARMED_WORDS = _norm_set("مسلح مسلحون مسلحين مسلحة مسلحه ميليشيا ميليشيات مليشيا مليشيات "
                        "كتيبة كتائب قوة قوات عناصر ملثمون ملثمين مجهولون مجهولين مقاتلون "
                        "مقاتلين مسلحي الجيش جيش")
# Detention verbs are an abduction (EVENTS-README: kidnapping or detention of non-combatants)
# only when the sentence names a civilian victim or an irregular captor, never a release and
# never abroad: "اعتقلت مجموعة مسلحة الناشط ..." is one, "اعتقلت الشرطة المشتبه به" is not.
DETENTION = _norm_set("اعتقل اعتقلت اعتقلوا اعتقال احتجز احتجزت "
                      "احتجزوا احتجاز اقتاد اقتادت اقتادوا اقتادوه "
                      "اقتادته اقتيد")
VICTIM_WORDS = frozenset(normalize_name(w) for w in
                         "ناشط ناشطة ناشطين ناشطا ناشطات صحفي صحفية صحفيين صحفيا إعلامي "
                         "إعلامية إعلاميين مدون مدونة مهاجر مهاجرين مهاجرا مهاجرون لاجئين "
                         "مدني مدنيين مدنيا مدنيون نائب نائبة "
                         "النائب محامي محامية طبيب طبيبا امرأة نساء أطفال طفل حقوقي حقوقية "
                         # the captor when the verb's subject: "اعتقل مسلحون ملثمون ..."; not
                         # "مسلحين" (the police arresting gunmen is no abduction)
                         "مسلحون ملثمون مجهولون مجهولين مجهولة".split())
RELEASE = _norm_set("أفرج أفرجت الإفراج إفراج سراح")
# Two-word triggers: the first word, then one of the second words within `gap` words.
# "تبادلوا إطلاق النار"; "أحكمت قبضتها على"; "سقطت المدينة بيد"; "فجر نفسه" ("فجر" alone is
# dawn); "تصفية ميدانية" ("تصفية" alone is also a liquidation); "ضربة جوية" ("ضربة" alone is
# any blow); "عثر على جثة" (killing: gated by FOUND_BODY_CUES); "أغلق شبان الطريق" (protest:
# gated by CROWD).
PHRASES: list[tuple[frozenset[str], frozenset[str], int, str]] = [
    (frozenset(normalize_name(a) for a in first.split()),
     frozenset(normalize_name(b) for b in second.split()), gap, type_)
    for first, second, gap, type_ in (
        ("تبادل تبادلت تبادلوا يتبادلون تتبادل تبادلا", "إطلاق لإطلاق الرصاص النيران", 5,
         "armed_clash"),
        ("أحكم أحكمت أحكموا", "قبضتها قبضته قبضتهم", 5, "territory_taken"),
        ("سقطت سقط سقوط", "يد بيد أيدي بأيدي قبضة بقبضة", 3, "territory_taken"),
        ("فجر فجّر", "نفسه", 1, "explosion"),
        ("تصفية", "ميدانية ميدانيا جسدية جسديا", 2, "killing"),
        ("ضربة ضربات ضربتين", "جوية الجوية جوي", 2, "airstrike"),
        ("عثر عثرت عثور العثور انتشال انتشلت", "جثة جثث جثتي جثتين جثمان جثامين", 3,
         "killing"),
        ("أغلق أغلقوا أغلقت إغلاق قطع قطعوا", "الطريق طريق الطرق طرق", 3, "protest"),
    )]
FOUND_BODY_CUES = _norm_set("رصاص بالرصاص رصاصة طلقات طلق الهوية مقيدة مقيدين مكبلة تعذيب "
                            "التعذيب آثار إعدام اعدام")
NO_CRIME = _norm_set("غرق غرقى الغرقى غريق البحر قارب مركب السيول الفيضانات الفيضان الإعصار "
                     "أنقاض الأنقاض حادث مروري")
# "حرر" is also "to write up" and "to free": "حرر الصحفي تقريرا", "حررت الشرطة الرهائن".
FREED = _norm_set("حرر حررت حرروا")
NOT_LAND = _norm_set("تقرير تقريرا مقال مقالا محضر محضرا مخالفة مخالفات خبر الخبر الرهائن "
                     "رهائن المخطوفين مخطوفين المختطفين مختطفين الأسرى أسرى")
# "تبادل الطرفان الاتهامات بخرق وقف إطلاق النار", "تبادل الأسرى وإطلاق سراح": no exchange of fire
NO_FIRE = _norm_set("وقف خرق خروقات الاتهامات اتهامات سراح الأسرى أسرى")
# "هاجم المشري حفتر في مؤتمر صحفي": an attack in words
ATTACK_VERBS = _norm_set("هاجم هاجمت هاجموا")
VERBAL = _norm_set("مؤتمر صحفي تصريح تصريحات تصريحاته كلمة كلمته بيان خطاب خطابه مقابلة "
                   "تغريدة تدوينة منشور لقاء تلفزيوني")
# "داهمت السيول المنازل": water, not armed men, broke in
FLOOD = _norm_set("السيول سيول الفيضانات فيضانات المياه مياه "
                  "الأمطار أمطار")
CROWD = _norm_set("شبان شباب أهالي الأهالي سكان محتجون محتجين غاضبون غاضبين مواطنون متظاهرون "
                  "متظاهرين")
_PROTEST_TRIGGERS = frozenset(k for k, v in TRIGGERS.items() if v == "protest")
# The subject of a storming that makes it a protest (EVENTS-README: protesters storming):
# an unarmed crowd. "شبان" only when angry ("شبان غاضبون"); a count may come first.
CROWD_SUBJECTS = _norm_set("الجماهير جماهير المحتجون المحتجين محتجون محتجين المتظاهرون "
                           "المتظاهرين متظاهرون متظاهرين أهالي الأهالي سكان السكان "
                           "المواطنون مواطنون المواطنين مواطنين الغاضبون غاضبون")
YOUTH = _norm_set("شبان الشبان شباب الشباب")
ANGRY = _norm_set("غاضبون غاضبين الغاضبون الغاضبين غاضبة الغاضبة")
CROWD_COUNTS = _norm_set("عشرات العشرات مئات المئات آلاف الآلاف الاف الالاف عدد من حشد")
# Non-conflict news uses the same verbs (tests/data/gold/non_events/). "استعادة الإنتاج في حقل
# الشرارة", "السيطرة على الحريق", "استعاد الفريق توازنه", "استعادت شبكة الكهرباء عملها": what is
# taken or regained a few words after the verb is no ground.
NOT_GROUND = _norm_set("الإنتاج إنتاج الانتاج انتاج إنتاجها انتاجها إنتاجه عملها عمله عملهم "
                       "نشاطها نشاطه توازنه توازنها الثقة ثقة التيار الكهرباء الأعطال الاعطال "
                       "أعطال الحريق حريق الحرائق النيران التسرب التسريب الأسعار أسعار سعر "
                       "التضخم الكرة الصدارة اللقب لقب الأموال أموال عافيته عافيتها مستواه "
                       "مستواها الوباء المرض منظومتها منظومته المنظومة حساباتها حسابه "
                       "الموقع الإلكتروني الصفحة")
# "انسحب النواب من الجلسة", "انسحاب الوفد من المفاوضات", "انسحب من السباق الانتخابي": leaving
# a session, talks, a race or a match is no withdrawal from ground.
NOT_FRONT = _norm_set("جلسة الجلسة جلسات الجلسات اجتماع الاجتماع الاجتماعات المفاوضات "
                      "مفاوضات الحوار حوار المحادثات محادثات السباق سباق البطولة المباراة "
                      "المنافسة الترشح الانتخابات المؤتمر مؤتمر القاعة الحكومة الاتفاق "
                      "اتفاق التحالف القائمة اللجنة")
POLITICIANS = _norm_set("نواب النواب أعضاء عضو الأعضاء وفد الوفد ممثلو ممثلي المرشح مرشح "
                        "المرشحين مرشحين الحزب حزب")
# Sport: "اقتحم المهاجم منطقة الجزاء", "سيطر الأهلي على الكرة", "قذيفة سكنت الشباك".
SPORT = _norm_set("المباراة مباراة مباريات الدوري المرمى مرمى الشباك الجزاء ركلة ركنية "
                  "اللاعبين لاعبي لاعبو لاعب اللاعب المهاجم المدرب مدرب البطولة كرة "
                  "القدم التعادل المدرجات")
# Relief: "وصلت تعزيزات من فرق الإنقاذ", "أرتال من شاحنات المساعدات": no troops.
RELIEF = _norm_set("الإنقاذ الانقاذ إنقاذ انقاذ الإسعاف الاسعاف المساعدات مساعدات الإغاثة "
                   "الاغاثة إغاثة الإنسانية إنسانية الهلال الطبية طبية الطوارئ الأدوية "
                   "الغذائية الشاحنات شاحنات قوافل القوافل الغطس البحث")
# A civil crowd: "احتشد مئات المواطنين أمام مكتب الإدارة الانتخابية", "الجماهير التي احتشدت في
# المدرجات" (a crowd with a protest trigger is a protest: DESIGN).
GATHER = _norm_set("احتشد احتشدت احتشدوا حشود حشودا")
CIVIL_CROWD = CROWD | _norm_set("المواطنين الجماهير جماهير المشجعين مشجعين أنصار الناخبين "
                                "ناخبين المصلين الزوار الحجاج الطلاب طلاب")
# "هاجم رئيس المجلس الحكومة، متهما إياها ...": an attack in words.
CRITIC = _norm_set("متهما متهمة منتقدا منتقدة واصفا واصفة انتقد انتقدت اتهم اتهمت بإهدار "
                   "بشدة")
# "أنهى سنوات من الاقتتال": fighting over years is background, no incident.
DURATION = _norm_set("سنوات أعوام عقود عقد أشهر شهور سنين عقدين")
# "العمل جار على انسحاب المرتزقة": a process under way, not a withdrawal that happened
UNDER_WAY = _norm_set("جار جاري جارية")
# Trigger words that make an event only when an armed party acts in their clause: "دخلت
# قوات الوفاق مدينة العجيلات" is a takeover, "دخلت الهدنة حيز التنفيذ" is not.
ARMED_ONLY = frozenset(normalize_name(w) for w in ("دخلت", "دخلوا", "دخل", "أخلت",
                                                   "أخلوا"))
# "مسيرة" is a drone only when something strikes: "تاركة وراءها أسلحة وطائرات مسيرة" is no
# airstrike, "استهدفت طائرة مسيرة رتلا" is.
DRONE_WORDS = frozenset(normalize_name(w) for w in ("مسيرة", "مسيرات"))
STRIKE_WORDS = _norm_set("استهدفت استهدف قصفت قصف غارة غارات ضربة ضربات شنت نفذت هاجمت")
# "قتل بالرصاص", "قتل رميا بالرصاص": a shooting of one person, a killing (the bare verb
# "قتل" counts the dead of any event and is no trigger).
SHOT_WORDS = frozenset(normalize_name(w) for w in ("بالرصاص", "برصاص", "رميا", "ميدانيا",
                                                   "ذبحا", "نحرا"))
KILLED_VERBS = frozenset(normalize_name(w) for w in ("قتل", "قتلت", "قتلوا"))
# The violent death of a named person: "مقتل العقيد معمر القذافي في سرت", "لقي الناشط ...
# حتفه برصاص مسلحين". A title after "مقتل" names one person (a number would be a casualty
# count of another event); "لقي ... حتفه" is a killing only when the sentence says how he was
# killed or captured ("وفاة", an illness or an accident are no events).
DEATH_NOUNS = _norm_set("مقتل مصرع")
MET_DEATH = _norm_set("حتفه حتفها")
PERSON_TITLES = frozenset(normalize_name(w) for w in
                          "العقيد اللواء العميد الرائد النقيب المقدم الشيخ الناشط الناشطة "
                          "الصحفي الصحفية الإعلامي الاعلامي القيادي القائد الزعيم الرئيس "
                          "المحامي المحامية الدكتور آمر امر رئيس المدون العقيد "
                          # "مقتل شاب برصاص مسلحين" (a traffic death is NATURAL_DEATH)
                          "المواطن مواطن الشاب شاب الطفل طفل امرأة سيدة الطبيب طبيب "
                          "المهاجر مهاجر".split())
VIOLENT_CAUSE = _norm_set("برصاص بالرصاص رصاص أسره اسره أسر اسر اعتقاله إعدامه اعدامه تعذيبه "
                          "تعذيب يد أيدي ايدي قتله اغتياله مسلحين مسلحون مجهولين")
NATURAL_DEATH = _norm_set("وفاة توفي توفيت مرض مرضه نوبة حادث سير غرق مروري مرورية "
                          "انقلاب تصادم صعق")
# A trigger that names the cause or the start of what a sentence reports refers to an
# earlier event, reported (or not) in its own place: "اندلعت اشتباكات على خلفية اختطاف
# ناشط", "بعد أكثر من عام على بدء الهجوم", "منذ بدء العملية", "خرج محتجون عقب احتجاز ...".
CAUSE_HEADS = frozenset(normalize_name(w) for w in ("خلفية",))
START_NOUNS = _norm_set("بدء بداية انطلاق اندلاع انطلاقة")
START_PREPS = _norm_set("منذ على بعد عقب قبل إثر اثر")
AFTER_WORDS = _norm_set("عقب إثر اثر")
# Verbs of an advance: an advance to a place fought over or taken that day is that incident
# ("قبل أن تتقدم نحو رأس لانوف، حيث دارت اشتباكات"); a build-up ("احتشدت") stays its own event
ADVANCE = _norm_set("تقدمت تقدموا تتقدم يتقدم يتقدمون زحف زحفت")
# "بقرب هجوم على المقر", "على وشك اقتحام": an attack about to come is no event
IMMINENT = _norm_set("قرب بقرب وشك اقتراب")
# "قصف مماثل": a strike like the one reported, at the same place (EVENTS-README, extra2 004)
SIMILAR = _norm_set("مماثل مماثلة مماثلا مماثلين")
# "غارات على المجمع", "قصف على المدينة": a definite place noun after a preposition names the
# place of an event reported before (only when no place is named in the sentence)
BACK_PREPS = _norm_set("على في داخل قرب محيط")
PLACE_NOUNS = _norm_set("المجمع المدينة البلدة القاعدة المطار المعسكر المقر السجن المركز "
                        "المنطقة الحي الميناء القرية الثكنة")
# An accusation that names a strike names its perpetrator: "وحمّلت حكومة الوفاق قوات حفتر
# المسؤولية عن القصف", "اتهمت ... قوات حفتر بقصف ...", "متهما طائرات أجنبية بقصف مواقعه".
ACCUSE = _norm_set("اتهم اتهمت اتهموا متهما متهمة حمل حملت حملوا محملا محملة يتهم تتهم "
                   "يحمل تحمل")
RESPONSIBILITY = frozenset(normalize_name(w) for w in ("المسؤولية", "المسئولية", "مسؤولية"))
ACCUSE_PARTICIPLES = _norm_set("متهما متهمة محملا محملة")
# An airstrike is a قصف by aircraft: "قصف جوي", "قصفت طائرة".
AIR_WORDS = _norm_set("جوي جوية الجوي الجوية طائرة طائرات الطيران "
                      "مقاتلات مروحية مروحيات عمودية")

# Words that make a trigger something other than a concrete event that happened.
DENIAL = _norm_set("نفى نفت ينفي تنفي نفي")
PLAN = _norm_set("سوف ستشن سيشن يعتزم تعتزم اعتزام تستعد يستعد للاستعداد الاستعداد جهزت "
                 "تهدد يهدد تهديد هدد توعد المقبلة المقبل القادمة خطة لمواجهة لعملية "
                 "بهدف هدفه هدفها اجل لتحرير لتطهير تطهير لبسط لوقف وقف ايقاف تحقيق "
                 "يخشى تخشى مخاوف")
DIPLOMACY = _norm_set("اجتمع يجتمع التقى يلتقي زيارة زار دعا دعت دعوات دعوة طالب ناشد حذر "
                      "ندد تنديد أدان دان يدين بحث")
# A clause that opens with one of these verbs reports what someone says, denies, condemns,
# expects or thinks; the triggers in it are the object of the speech, not a new event: "ودان
# رئيس الحكومة عملية الاغتيال", "نفى سيف الإسلام أن تكون القوات قد قصفت المدنيين", "أعربت
# البعثة عن قلقها من ...", "ويرى مراقبون أن معركة سرت قد تحدد ...", "وينتظر أن يعلن ...
# التحرير". "قال" and "أعلن" are not here: they introduce reports of events.
SPEECH_HEADS = DENIAL | DIPLOMACY | _norm_set("أعرب أعربت استنكر استنكرت رحب رحبت يرى ترى "
                                              "يعتبر تعتبر يتوقع تتوقع ينتظر يُنتظر "
                                              "يخشى تخشى")
# "غرفة عمليات تحرير سرت-الجفرة": a trigger word inside the name of an operations room
OPERATION_NAME = frozenset(normalize_name(w) for w in ("عمليات",))
# "في هجوم كاد أن يبلغ مشارف بنغازي": where an attack almost got to is not where it was
ALMOST = frozenset(normalize_name(w) for w in ("كاد", "كادت", "كادوا"))
# Verbs that open a new statement after a comma: "وتوعد ... بالرد، وأعلنوا النفير العام".
NEW_REPORT = _norm_set("أعلن أعلنت أعلنوا شنت شن شنوا نفذت نفذ سيطرت سيطروا دارت اندلعت "
                       "وصلت وصلوا")
# The end of fighting is not fighting: "وتوقفت الاشتباكات مساء الثلاثاء بعد اتفاق ...".
CESSATION = _norm_set("توقفت توقف هدأت انتهاء")
# "منذ" + a month, a year or a span: a state that has lasted ("وتشهد المدينة منذ سبتمبر
# الماضي مواجهات متقطعة"), background rather than one incident (EVENTS-README: the
# weeks-long clashes in Murzuq are background). "منذ يومين" is a date and stays.
SINCE = normalize_name("منذ")
SPAN_WORDS = _norm_set("يناير فبراير مارس أبريل ابريل مايو يونيو يوليو أغسطس اغسطس سبتمبر "
                       "أكتوبر اكتوبر نوفمبر ديسمبر بداية مطلع أشهر اشهر شهور سنوات أعوام "
                       "عام سنة أسابيع اسابيع")
# A place right after these words is where fighters go or come from, not where the event is
# ("فرت باتجاه الأصابعة", "تراجعت غربا باتجاه البريقة", "بعد انسحاب قوات حفتر منها باتجاه
# الجميل"); a mobilisation may be located by its direction (EVENTS-README), nothing else.
DIRECTION = _norm_set("باتجاه اتجاه نحو صوب")
# "انطلقت من قاعدة تمنهنت", "قادمين من الزاوية", "تقدمت من محور بنينا": the starting point.
ORIGIN_VERBS = _norm_set("انطلقت انطلق انطلقوا قادمة قادمين القادمة القادمين تقدمت تقدموا "
                         "تحركت تحركوا")
# Where the wounded are taken and where the displaced or a ship go: "مستشفى مصراتة المركزي",
# "نزوح مئات العائلات إلى مدينتي سبها وغات", "غيّرت مسارها إلى طبرق". EVENTS-README: hospitals
# receiving the wounded and displacement are not events there.
HOSPITAL = _norm_set("مستشفى مستشفيات المستشفى")
MOVE_WORDS = _norm_set("نزوح نزحت نزح نزحوا نزحنا لجأ لجأت لجأوا مسارها نقل نقلت نقلوا توجهت توجه "
                       "وصول")
# "العزيزية جنوب العاصمة", "الدافنية غرب مصراتة", "قاعدة ... الجوية جنوب سرت": a place right
# after a compass word ("شرق مدينة سرت": LOCATED words may stand between), a few words after
# another named place, only says where that place is.
COMPASS = _norm_set("جنوب جنوبي شمال شمالي شرق شرقي غرب غربي")
LOCATED = _norm_set("بلدة البلدة مدينة منطقة الواقعة الواقع قاعدة قرية ميناء حقل")
# "المدينة" / "البلدة" name the town the article is about, not the village called al-Madina:
# they refer back to the last town named before them.
ANAPHORS = frozenset(normalize_name(w) for w in ("المدينة", "البلدة"))
TOWN_KINDS = frozenset({"city", "town", "village"})
# A party named right after these words speaks about the events (denies, condemns, calls for
# calm); it is not one of their parties: "بينما نفى ... حفتر أن يكون ...", "تنديد المؤتمر".
SPEAKER_WORDS = DENIAL | DIPLOMACY | frozenset(
    normalize_name(w) for w in ["استنكر", "استنكرت", "رحب", "رحبت", "انتقد", "انتقدت",
                                # the source of a figure: "وفق حصيلة أعلنتها وزارة الصحة
                                # بحكومة الوفاق" (the ministry counts, it did not strike)
                                "وفق", "وفقا", "بحسب", "حسب"])
# "سقطت قذيفة على منزل": shells that fell, the clause naming nobody who fired them; the event
# has no perpetrator (EVENTS-README: actors [] for "سقوط قذائف قرب الرصيف"), only its victims
FELL = _norm_set("سقطت سقط سقوط تساقطت")
CIVILIAN_TARGETS = _norm_set("منزل منازل بيت بيوت سكنية مدرسة")
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
STANDING = _norm_set("يسيطر تسيطر يُسيطر تخضع يخضع الخاضعة")

_NUM_WORDS = {normalize_name(w): n for w, n in (
    ("شخص", 1), ("شخصين", 2), ("اثنين", 2), ("ثلاثة", 3), ("أربعة", 4), ("خمسة", 5),
    ("ستة", 6), ("سبعة", 7), ("ثمانية", 8), ("تسعة", 9), ("عشرة", 10),
    # ACLED's conventions for vague counts: several/many = 10, dozens = 12, hundreds = 100
    ("عدة", 10), ("عدد", 10), ("عشرات", 12), ("مئات", 100))}
_KILLED = _norm_set("قتيل قتيلا قتيلًا قتلى القتلى قتلوا قتل مقتل مصرع قضوا حتفهم شهيدا شهداء "
                    "داعشيا")
_INJURED = _norm_set("جريح جريحا جرحى جرح إصابة اصابة إصابات مصابا مصابين أصيب اصيب آخرين")


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
_LEADING = _norm_set("مقتل مصرع قتل جرح إصابة اصابة إصابات أصيب اصيب سقوط")


def _number(w: str) -> int | None:
    return int(w) if w.isdigit() else _NUM_WORDS.get(w)


@lru_cache(maxsize=65536)
def _casualty_word(w: str) -> tuple[str | None, bool]:
    """("killed" / "injured" / None, whether its number comes after it) of one word."""
    stems = {s for _, s in proclitic_splits(w)}
    what = "killed" if stems & _KILLED else "injured" if stems & _INJURED else None
    return what, bool(stems & _LEADING)


def casualties(words: list[str]) -> tuple[int | None, int | None]:
    """(fatalities, injuries) stated in a sentence's normalised words: "24 قتيلا", "مقتل 24
    شخصا وجرح 150 آخرين", "أكثر من 40 داعشيا", "عشرات القتلى" (12, ACLED's convention)."""
    found: dict[str, int | None] = {"killed": None, "injured": None}
    used: set[int] = set()
    for i, w in enumerate(words):
        what, leading = _casualty_word(w)
        if what is None or found[what] is not None:
            continue
        if leading:
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
ORG_HEADS = _norm_set("حماية ثوار مجاهدي شورى بلدي البلدي بلدية أعيان حكماء جامعة مديرية أمن "
                      "الاجتماعي")
# "كتائب ... المتحالفة مع الزنتان", "القوات الموالية لمصراتة": who, not where
ALLIED = _norm_set("المتحالفة المتحالف المتحالفين المتحالفه المتحالفة")
# Words that may stand between the places of one list: "مناطق صلاح الدين وعين زارة ومحور ..."
LIST_WORDS = tuple(normalize_name(w) for w in "منطق مدين بلد حي محور محاور مناطق ضواحي مدن "
                   "اطراف قري احياء منها ومنها بينها محيط مشارف".split())
ORG_PHRASES = frozenset(normalize_name(w) for w in ("الدفاع عن", "تحرير", "شباب"))
NEGATION = _norm_set("لم لن لا ليس دون فقدت فقد")

# Types that are separate events even at the same place in the same sentence: a storming, an
# abduction and a mobilisation are three things; a clash that ends in a capture is one.
_MERGING = {("fight", "control"), ("control", "fight"), ("control", "control"),
            ("fight", "fight"), ("remote", "remote")}


# Reports of fighting and of ground changing hands at one place on one day are one incident.
_GROUP = {"fight": "ground", "control": "ground"}

_TRIGGER_FORMS = frozenset(TRIGGERS)
_SPEAKER_OR_PLAN = SPEAKER_WORDS | PLAN
_DENIAL_OR_PLAN = DENIAL | PLAN
# Every form that can make a word a trigger (TRIGGERS, the first word of PHRASES, the killing
# cues): a word without any of them is no trigger, and the per-word checks skip it.
_TRIGGER_CUES = frozenset(TRIGGERS).union(*(p[0] for p in PHRASES), KILLED_VERBS, DEATH_NOUNS,
                                          MET_DEATH)


def _trigger_at(stems: list[frozenset[str]], words: list[str], i: int
                ) -> tuple[str | None, str | None]:
    """(type, key) of a trigger at word i: a word of TRIGGERS (key: its form) or the first
    word of a PHRASES pair (key: "phrase:" + type)."""
    st = stems[i]
    for form in st:
        t = TRIGGERS.get(form)
        if t is not None and (form not in STRICT or words[i] == form):
            return t, form
    for first, second, gap, t in PHRASES:
        if st & first and any(stems[j] & second
                              for j in range(i + 1, min(i + 1 + gap, len(stems)))):
            return t, "phrase:" + t
    return None, None


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
    if not text[:start].strip() and ("\n\n" in text[start:end] or text[end:end + 1] == "\n"):
        return True
    # a headline cut by an ellipsis: "مرزق تحت القصف والكفرة على صفيح ساخن.. الجنوب ..."
    first = text.find("\n")
    return 0 < first and "\n" not in text[:start].strip() and start < first \
        and text[first:first + 2] == "\n\n" and len(text[:first].split()) <= 20


def is_heading(sentence: str) -> bool:
    """A headline, subheading or photo caption: a short line with no sentence punctuation.
    Such lines repeat what the body reports."""
    line = sentence.strip()
    return "\n" not in line and len(line.split()) < 10 and not line.endswith((".", "!", "؟", "?"))

# "في الليلة نفسها", "في اليوم ذاته": the time of the event reported just before.
SAME_TIME = (_norm_set("الليلة اليوم الوقت المساء الصباح الساعة "
                       "الليله"),
             _norm_set("نفسها نفسه ذاتها ذاته"))
# A dateline at the head of a line: "طرابلس (رويترز) - اقتحم ...". It says where the report
# was filed, never where the event was (EVENTS-README).
_DATELINE = re.compile(r"[^\n.،]{0,40}?\s[-–—]\s")


def _is_dateline(text: str, m: Mention) -> bool:
    line_start = text.rfind("\n", 0, m.start) + 1
    head = _DATELINE.match(text, line_start)
    return bool(head) and m.end <= head.end() and len(text[line_start:head.end()].split()) <= 6


def _bare_words(text: str, start: int, n: int) -> list[frozenset[str]]:
    """The forms of the `n` words before `start`, nearest last."""
    return [_word_forms(normalize_name(w)) for w in text[max(0, start - 60):start].split()[-n:]]


def _not_here(text: str, m: Mention) -> str | None:
    """Why a mention names no event place whatever the trigger: 'direction', 'origin',
    'hospital' or 'destination' (see DIRECTION, ORIGIN_VERBS, HOSPITAL, MOVE_WORDS)."""
    before = _bare_words(text, m.start, 6)
    if not before:
        return None
    last = before[-1]
    if any(st & ALMOST for st in before[-4:]):
        return "almost"
    if last & DIRECTION:
        return "direction"
    if any(st & HOSPITAL for st in before[-3:]):
        return "hospital"
    if last & {"من"} or (len(before) > 1 and last & {"محور"} and before[-2] & {"من"}):
        if any(st & ORIGIN_VERBS for st in before[:-1]):
            return "origin"
    if last & {normalize_name("إلى"), "من"} or (
            len(before) > 1 and before[-2] & {normalize_name("إلى"), "من"}):
        if any(st & MOVE_WORDS for st in before):
            return "destination"  # or the origin of the displaced: "نزوح ... من أحياء X"
    if last & COMPASS or (len(before) > 1 and before[-2] & COMPASS and last & LOCATED):
        return "locator"  # "بلدة العزيزية جنوب العاصمة": Tripoli only locates Aziziya
    return None


def _spread(text: str, usable: list[Mention], flags: dict[int, str | None]) -> None:
    """A place listed right after one that names no event place shares its role: "باتجاه
    البريقة ورأس لانوف", "باتجاه البريقة ثم راس لانوف", "من أحياء قصر بن غشير وجنزور"."""
    for a, b in zip(usable, usable[1:]):
        gap = text[a.end:b.start].strip()
        listed = (b.text.startswith("و") and not gap) or gap in ("ثم", "أو", "او", "،")
        if flags.get(id(a)) and not flags.get(id(b)) and listed:
            flags[id(b)] = flags[id(a)]


def _anaphors(text: str, mentions: list[Mention]) -> list[Mention]:
    """"المدينة"/"البلدة" mentions stand for the last town named before them."""
    out, last_town = [], None
    for m in mentions:
        if _word_forms(normalize_name(m.text)) & ANAPHORS:
            if last_town is not None:
                out.append(Mention(m.text, m.start, m.end, last_town.place,
                                   last_town.score * 0.9, last_town.matched,
                                   how="anaphor"))
            continue
        if m.place.kind in TOWN_KINDS and not _is_dateline(text, m):
            last_town = m
        out.append(m)
    return out


# A report at a town is the umbrella of the same report at places inside it: "ارتفعت حصيلة
# الاشتباكات التي شهدتها العاصمة طرابلس" then "وتركزت الاشتباكات في منطقتي عين زارة
# والفرناج". EVENTS-README: a repeated incident is annotated once, at its most specific place.
# Within one sentence two places are two incidents ("عبوة أمام محكمة جنوب بنغازي ... تفجير آخر
# في الفويهات").
UMBRELLA_KINDS = frozenset({"city", "town"})


def _finest(events: list["Event"]) -> list["Event"]:
    drop: set[tuple] = set()  # (sentence, town, family) of umbrella reports
    for e in events:
        town = e.place.place
        if town.kind not in UMBRELLA_KINDS:
            continue
        for f in events:
            inner = f.place.place
            if f is e or f.start == e.start or f.family != e.family or inner.id == town.id \
                    or inner.kind in UMBRELLA_KINDS or inner.kind in AREA_KINDS:
                continue
            if inner.parent != town.id:
                continue  # a town nearby is another place (Sabratha is not in Surman)
            if e.date.date == f.date.date:
                # the sentence's other reports there go too ("ليل الاثنين وطوال يوم
                # الثلاثاء" gives the umbrella two dates)
                drop.add((e.start, town.id, e.family))
                break
    return [e for e in events if (e.start, e.place.place.id, e.family) not in drop]


# "، وعلى مدينة غريان", "، وفي سرت": "و" + a preposition continues the clause's verb;
# "، وتحديدا في سرت", "، خاصة مدينة سرت": an apposition that narrows the place
LINK_PREPS = frozenset(normalize_name(w) for w in ["في", "على", "الى", "إلى", "من", "عند",
                                                   "قرب", "داخل", "حتى", "نحو", "بمدينة",
                                                   "بمنطقة", "مدينة", "منطقة"])
APPOSITION_WORDS = frozenset(normalize_name(w) for w in [
    "تحديدا", "وتحديدا", "خاصة", "وخاصة", "خصوصا", "وخصوصا", "ولا", "لا", "منها", "ومنها",
    "بالتحديد", "وبالتحديد"])
_CLAUSE_BREAK = re.compile(r"[،,;:؛]|\s(?:بينما|فيما|في حين|كما|لكن|إلا أن)\s")
# The breaks between two reports of one sentence (a comma also separates a report from its
# circumstances: "سيطر الثوار على إجدابيا، بعد أن انسحبت منها الكتائب").
_STRONG_BREAK = re.compile(r"[;؛]|\s(?:بينما|فيما|في حين|كما|لكن|إلا أن)\s")


@lru_cache(maxsize=65536)
def _organisation_word(form: str) -> bool:
    """A reading of `form` is "التنظيم" (ORGANISATION)."""
    return bool({st for _, st in proclitic_splits(form)} & ORGANISATION)


class EventExtractor:
    """Events of one article from its text and resolved mentions."""

    def __init__(self, factions=None):
        self.factions = factions

    def extract(self, text: str, mentions: list[Mention], published: date | None,
                tokens: list[tuple[str, int, int]] | None = None) -> Extraction:
        """Events and control records of an article; `tokens` are `tokenize(text)` when the
        caller has them already."""
        out = Extraction()
        # datelines say where the report was filed; "المدينة" is the town named before it
        mentions = [m for m in _anaphors(text, mentions) if not _is_dateline(text, m)]
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
            # every form of the sentence, for the checks of a word list against all its words
            forms = frozenset().union(*stems)
            # clause of each position: count the clause breaks before it (once per sentence)
            breaks = [b.start() + s_start for b in _CLAUSE_BREAK.finditer(sentence)]
            actor_mentions = all_actors[bisect_left(actor_starts, s_start):
                                        bisect_left(actor_starts, s_end)]
            speakers = self._speakers(actor_mentions, toks, stems, s_start, breaks)
            acting = [a for a in actor_mentions if id(a) not in speakers]
            actors = _distinct(a.faction_id for a in acting) if actor_mentions else last_actors
            armed = [f for f in actors if f not in UNARMED]
            if armed and not self._aside(stems, words, forms):
                # a sentence without a named party continues the last one, placed or not
                # ("وكان حفتر قال ... معركة ... . مؤكدا تصميمه على مواصلة حملته ... في
                # بنغازي"); a visit or a plan told in passing does not take over
                last_actors = armed  # victims and protesters are not carried on
            if not places:
                # "وحمّلت الحكومة قوات حفتر المسؤولية عن القصف": the accused did the strike
                self._blame(stems, toks, s_start, actor_mentions, out.events)
                # "تعرض لقصف مماثل", "غارات على المجمع": the place of an event told before
                recalled = self._recalled(stems, words, out.events, s_start)
                if not recalled:
                    continue
                places = [e.place for e in recalled.values()][:1]
            else:
                recalled = {}
            # the report continues: no time of its own, no marker of background
            background = not forms.isdisjoint(BACKGROUND)
            inherited = carry if not time_words and not background else None
            strong = [b.start() + s_start for b in _STRONG_BREAK.finditer(sentence)]
            standing = [i for i, st in enumerate(stems) if st & STANDING] \
                if not forms.isdisjoint(STANDING) else []
            if standing and actors:
                for m in places:
                    if m.start - s_start > toks[standing[0]][1] and not m.place.is_area:
                        out.control.append(ControlRecord(m, actors[0], published, sentence,
                                                         s_start, s_end))
                continue
            # the words that may be a trigger: a sentence without any reports no event
            cues = [i for i, st in enumerate(stems) if not st.isdisjoint(_TRIGGER_CUES)] \
                if not forms.isdisjoint(_TRIGGER_CUES) else []
            if cues:
                tok_clause = [bisect_right(breaks, s_start + t[1]) for t in toks]
                actors_by_clause: dict[int, list[str]] = {}
                for a in acting:
                    actors_by_clause.setdefault(bisect_right(breaks, a.start),
                                                []).append(a.faction_id)
                protest_clauses = {bisect_right(breaks, s_start + toks[i][1])
                                   for i, st in enumerate(stems)
                                   if not _PROTEST_TRIGGERS.isdisjoint(st)}
                protest_clauses |= {bisect_right(breaks, a.start) for a in acting
                                    if a.faction_id == "protesters"}
                usable = [m for m in places if m.place.kind != "country"
                          and not self._in_organisation_name(text, m)]
                # a country (or a region wider than a district) named in a clause is that clause's
                # place even though it is never an event place itself (see _place_for)
                wide = [m for m in places if m.place.kind in ("country", "region")
                        and not self._in_organisation_name(text, m)]
                not_here = {id(m): _not_here(text, m) for m in usable}
                for k, m in enumerate(usable):
                    # a locator needs the place it locates within the few words before it
                    if not_here[id(m)] == "locator" and not (
                            k > 0 and not usable[k - 1].place.is_area
                            and usable[k - 1].place.id != m.place.id
                            and len(text[usable[k - 1].end:m.start].split()) <= 8):
                        not_here[id(m)] = None
                _spread(text, usable, not_here)
                # "تعزيزات من مصراتة والزنتان": every town of the list after "من" is an origin
                origins: set[int] = set()
                for m in usable:
                    if _after_word(text, m, "من") or _after_word(text, m, "ومن") or (
                            origins and m.text.startswith("و") and any(
                            id(o) in origins and 0 <= m.start - o.end <= 2 for o in usable)):
                        origins.add(id(m))
                same_time = not forms.isdisjoint(SAME_TIME[0]) \
                    and not forms.isdisjoint(SAME_TIME[1]) \
                    and any(stems[k] & SAME_TIME[0] and stems[k + 1] & SAME_TIME[1]
                            for k in range(len(stems) - 1))
                by_clause: dict[int, list[Mention]] = {}
                for m in usable:
                    by_clause.setdefault(bisect_right(breaks, m.start), []).append(m)
            found: dict[str, Event] = {}  # place id -> this sentence's event there
            struck: set[str] = set()  # places this sentence reports struck from afar
            for i in cues:
                st = stems[i]
                type_, key = _trigger_at(stems, words, i)
                if key is not None and not self._gate_ok(key, stems, words, i, acting):
                    continue
                if type_ is None and st & KILLED_VERBS and i + 1 < len(stems) and (
                        stems[i + 1] & SHOT_WORDS or any(
                            x & SHOT_WORDS for x in stems[i + 2:i + 4])
                        and not self._fighting_told(stems)):
                    # "قتل بالرصاص في منطقة الصابري", "قتل شاب برصاص مسلحين"
                    type_ = "killing"
                if type_ is None and st & DEATH_NOUNS and i + 1 < len(stems) \
                        and stems[i + 1] & PERSON_TITLES and not self._fighting_told(stems) \
                        and not any(x & NATURAL_DEATH for x in stems):
                    type_ = "killing"  # "مقتل العقيد معمر القذافي في سرت"
                if type_ is None and st & MET_DEATH and not any(x & NATURAL_DEATH for x in stems) \
                        and any(x & VIOLENT_CAUSE for x in stems) and not self._fighting_told(stems):
                    type_ = "killing"  # "لقي الناشط ... حتفه برصاص مسلحين"
                if type_ is None:
                    continue
                if recalled:
                    if i not in recalled:
                        continue  # only the trigger that refers back takes the old place
                    if stems[min(i + 1, len(stems) - 1)] & SIMILAR \
                            and recalled[i].family == FAMILY[type_]:
                        type_ = recalled[i].type  # "قصف مماثل" after an airstrike
                if i > 0 and (stems[i - 1] & CAUSE_HEADS or stems[i - 1] & START_NOUNS and i > 1
                              and stems[i - 2] & START_PREPS):
                    continue  # "على خلفية اختطاف ...", "منذ بدء العملية": an earlier event
                if FAMILY[type_] == "control" and words[i].startswith("ل") \
                        and not words[i].startswith("ال"):
                    continue  # "الهجوم الذي تشنه قوات حفتر للسيطرة على العاصمة": a purpose
                if i > 0 and stems[i - 1] & IMMINENT:
                    continue  # "معلومات أمنية بقرب هجوم على المقر": not yet an event
                if i > 0 and stems[i - 1] & AFTER_WORDS and type_ == "abduction":
                    continue  # "خرج محتجون عقب اختطاف ...": the cause of the report
                # a threat or plan in an earlier clause joined by "و" + a past verb does not
                # govern this one: "وتوعد قادة الجيش بالرد، وأعلنوا النفير العام في ..."
                lo = tok_clause.index(tok_clause[i])  # the first word of the trigger's clause
                if self._not_concrete(stems, i, lo if self._new_report(words, lo) else 0, lo,
                                      forms):
                    continue
                if i > 0 and stems[i - 1] & DEMONSTRATIVES:
                    continue  # "هذه المواجهات": the article recalls what it reported
                trig_clause = bisect_right(breaks, s_start + toks[i][1])
                if self._speech_clause(stems, toks, s_start, breaks, trig_clause):
                    continue  # "ودان رئيس الحكومة عملية الاغتيال": speech about an event
                if type_ == "mobilization" and any(
                        x & STRIKE_WORDS or FAMILY.get(TRIGGERS.get(y, ""), "") in (
                            "fight", "remote") for x in stems[max(0, i - 2):i] for y in x):
                    continue  # "استهدفت رتلا", "كمين لرتل": the column is the target
                if st & DRONE_WORDS and not any(x & STRIKE_WORDS for x in stems):
                    continue  # drones left behind or shown, not striking
                if type_ == "attack" and any(
                        TRIGGERS.get(x) in ("airstrike", "shelling", "explosion")
                        for prev in stems[max(0, i - 3):i] for x in prev):
                    continue  # "غارة جوية استهدفت ...", "الغارات استهدفت": the strike itself
                if st & ARMED_ONLY and not self._armed_entry(i, toks, s_start, acting,
                                                             usable):
                    continue  # "دخلت الأزمة الأمنية منحى خطيرا": nobody armed enters a place
                if type_ == "storming" and self._crowd_storming(stems, i, toks, s_start, breaks,
                                                                acting):
                    type_ = "protest"  # "اقتحمت الجماهير الغاضبة مقر ...": unarmed protesters
                if type_ in ("storming", "attack", "mobilization") \
                        and trig_clause in protest_clauses:
                    # "اقتحم محتجون ...": a violent protest (DESIGN); "احتشد المتظاهرون في
                    # ميدان الشهداء": a crowd of protesters, not troops
                    type_ = "protest"
                if type_ in ("shelling", "attack") and any(
                        _word_forms(words[j]) & AIR_WORDS
                        for j in range(i + 1, min(i + (4 if type_ == "shelling" else 3),
                                                  len(words)))):
                    # "قصف جوي"; "استهدفتها طائرات حلف شمال الأطلسي": aircraft strike
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
                if not time_words and same_time and out.events:
                    when = out.events[-1].date  # "وفي الليلة نفسها، انفجرت عبوة ..."
                # where fighters go or come from, where the wounded are taken: not the place
                # (a mobilisation may be located by its direction)
                # (a direction named before the trigger may be its object: "تحركت ...
                # باتجاه ميناء الزويتينة وسيطرت عليه")
                candidates = [m for m in usable if not_here.get(id(m)) is None or (
                    not_here[id(m)] == "direction"
                    and (type_ == "mobilization" or m.start < trig_pos))]
                ok = {id(m) for m in candidates}
                if words[i].lstrip("وفبل").startswith("ال") and not any(
                        id(m) in ok for m in by_clause.get(bisect_right(breaks, trig_pos), ())):
                    # "الهجوم", "الغارة" with no place of its own (a displacement's origin or a
                    # hospital is none): a report recalled
                    continue
                if type_ == "mobilization":
                    # reinforcements "من مصراتة" come from there; the event is where they go
                    candidates = [m for m in candidates if id(m) not in origins]
                place = self._place_for(bisect_right(breaks, trig_pos), trig_pos, by_clause,
                                        candidates, wide, breaks, text)
                if place is None or (not place.place.in_libya
                                     and (FAMILY[type_] in ("control", "mobilization")
                                          or key in DETENTION)):
                    continue  # taking ground or arrests abroad: not what Libyan news reports
                # a list goes with the trigger's own clause; a place borrowed from the
                # sentence's topic comes alone ("وامتدت المواجهات إلى منطقتي الحرشة والماية،
                # فيما أغلق شبان الطريق احتجاجا": the protest is not in both)
                own = bisect_right(breaks, place.start) == bisect_right(breaks, trig_pos)
                for target in (self._coordinated(text, place, usable) if own else [place]):
                    if FAMILY[type_] == "remote":
                        struck.add(target.place.id)  # even when told before
                    key = (_GROUP.get(FAMILY[type_], FAMILY[type_]), target.place.id,
                           when.iso())
                    if key in reported:
                        continue  # the article repeats an incident it already reported
                    if type_ == "mobilization" and st & ADVANCE and (
                            ("ground", target.place.id, when.iso()) in reported
                            or any(FAMILY.get(TRIGGERS.get(x, ""), "") in ("fight", "control")
                                   for y in stems[i + 1:] for x in y)):
                        # the advance is the fight or the takeover told there ("تقدموا حتى
                        # العقيلة قبل أن يضطروا إلى التراجع": the withdrawal is the news)
                        continue
                    if not time_words and self._told_just_before(out.events, s_start, target,
                                                                 type_):
                        continue  # "وانسحب الثوار من الساحة بعد ساعات من المعارك"
                    reported.add(key)
                    prior = found.get(target.place.id)
                    if prior is not None and _word_forms(prior.trigger) & ARMED_ONLY \
                            and prior.type != type_:
                        # "دخلت ... واقتحمت": the entry is the storming, told more exactly
                        out.events.remove(prior)
                        del found[target.place.id]
                        prior = None
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
                    elif type_ == "shelling" and not local and any(
                            x & FELL for x in stems[max(0, i - 3):i + 3]):
                        seg = bisect_right(strong, trig_pos)
                        who = [f for f in _distinct(a.faction_id for a in acting
                                                    if bisect_right(strong, a.start) == seg)
                               if f in UNARMED]
                        if any(x & CIVILIAN_TARGETS for x in stems[i:i + 8]) \
                                and "civilians" not in who:
                            who.append("civilians")
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
            if not any(e.family == "remote" or e.type == "attack" for e in mine):
                self._blame(stems, toks, s_start, actor_mentions,
                            [e for e in out.events if e.start < s_start])
            dropped = self._same_incident(mine, struck)
            if dropped:
                out.events = [e for e in out.events if id(e) not in dropped]
                mine = [e for e in mine if id(e) not in dropped]
            if time_words or inherited:
                # the next sentence may continue this report: "وامتدت المواجهات إلى ..."
                dated = [e for e in mine if e.date.basis != "publication date"]
                carry = dated[-1].date if dated else None
                carry_end = s_end
            if mine or acting:
                continued = mine[0] if mine else None  # other parties: another report
        _who_withdrew(out.events, parties)
        out.events = _finest(out.events)
        return out

    def _gate_ok(self, key: str, stems, words, i: int, acting) -> bool:
        """The context an ambiguous trigger needs (ARMED_CONTEXT, DETENTION, the phrases of
        found bodies and road blocks)."""
        if key in TAKE_OVER and not any(words[j] in ("على", "علي")
                                        for j in range(i + 1, min(i + 5, len(words)))):
            return False  # "التي استولى عليها التنظيم": the place was named before
        if key in FREED and any(st & NOT_LAND for st in stems[i + 1:i + 4]):
            return False  # "حرر الصحفي تقريرا", "حررت الشرطة الرهائن"
        if TRIGGERS.get(key) == "storming" and any(st & FLOOD for st in stems[i + 1:i + 3]):
            return False
        if key in ARMED_CONTEXT:
            return any(st & ARMED_WORDS for st in stems) or (
                self.factions is not None and any(
                    self.factions.get(a.faction_id).kind in ARMED_KINDS for a in acting))
        if key in DETENTION:
            return any(st & VICTIM_WORDS for st in stems) \
                and not any(st & RELEASE for st in stems)
        if key == "phrase:killing":  # "عثر على جثة ... مقيدة وعليها آثار رصاص"
            return any(st & FOUND_BODY_CUES for st in stems) \
                and not any(st & (NO_CRIME | NATURAL_DEATH) for st in stems)
        if key in ATTACK_VERBS and any(st & (VERBAL | CRITIC) for st in stems):
            return False
        if key in ATTACK_VERBS and self.factions is not None and any(
                self.factions.get(a.faction_id).kind in NON_ACTING_KINDS for a in acting):
            return False  # "هاجم مجلس النواب الحكومة": institutions attack in words
        kind = TRIGGERS.get(key)
        if kind == "territory_taken" and any(st & NOT_GROUND for st in stems[i + 1:i + 4]):
            return False  # "استعادة الإنتاج في حقل الشرارة"
        if kind == "withdrawal" and (
                any(st & POLITICIANS for st in stems[i + 1:i + 3]) or any(
                    words[j] == "من" and stems[j + 1] & NOT_FRONT
                    for j in range(i + 1, min(i + 10, len(words) - 1)))):
            return False  # "انسحب النواب من الجلسة"
        if kind == "mobilization" and (
                any(st & RELIEF for st in stems[i + 1:i + 7])
                or stems[i] & GATHER and any(st & CIVIL_CROWD for st in stems[max(0, i - 4):i + 5])
                and not any(st & ARMED_WORDS for st in stems)
                and not any(not _PROTEST_TRIGGERS.isdisjoint(st) for st in stems)):
            return False  # "وصلت تعزيزات من فرق الإنقاذ", "احتشد مئات المواطنين"
        if kind in ("storming", "attack", "territory_taken", "withdrawal", "shelling",
                    "armed_clash") and (
                sum(1 for st in stems if st & SPORT) >= 2
                or any(st & SPORT for st in stems) and not any(st & ARMED_WORDS for st in stems)):
            return False  # "اقتحم المهاجم منطقة الجزاء", "سيطر الأهلي على الكرة"
        if i >= 2 and words[i - 1] == "من" and stems[i - 2] & DURATION:
            return False  # "أنهى سنوات من الاقتتال"
        if any(st & UNDER_WAY for st in stems[max(0, i - 3):i]):
            return False  # "العمل جار على انسحاب المرتزقة"
        if key == "phrase:armed_clash":
            return not any(st & NO_FIRE for st in stems[i + 1:i + 8])
        if key == "phrase:protest":  # "أغلق شبان غاضبون الطريق"
            return any(st & CROWD for st in stems)
        return True

    def _crowd_storming(self, stems, i: int, toks, s_start: int, breaks: list[int],
                        acting) -> bool:
        """The storming's subject is an unarmed crowd ("اقتحمت الجماهير الغاضبة مقر ...",
        "اقتحم عشرات المحتجين ...", "شبان غاضبون اقتحموا ...") and its clause names no armed
        word or armed party: protesters storming (EVENTS-README: `protest`)."""
        clause = bisect_right(breaks, s_start + toks[i][1])
        span = [j for j in range(len(stems)) if bisect_right(breaks, s_start + toks[j][1]) == clause]
        if any(stems[j] & ARMED_WORDS for j in span):
            return False  # "اقتحم مسلحون غاضبون", "اقتحمت قوة مسلحة"
        lo, hi = toks[span[0]][1] + s_start, toks[span[-1]][2] + s_start
        if self.factions is not None and any(
                lo <= a.start < hi and self.factions.get(a.faction_id).kind in ARMED_KINDS
                for a in acting):
            return False  # "اقتحمت قوات حفتر ..."

        def crowd(j: int) -> bool:
            if stems[j] & CROWD_SUBJECTS:
                return True
            # "شبان غاضبون": young men are a crowd when angry
            return bool(stems[j] & YOUTH) and j + 1 < len(stems) and bool(stems[j + 1] & ANGRY)
        # the subject after the verb (past a count: "عشرات من المحتجين") ...
        for j in range(i + 1, min(i + 4, len(stems))):
            if j not in span:
                break
            if crowd(j):
                return True
            if not stems[j] & CROWD_COUNTS:
                break
        # ... or before it: "الجماهير الغاضبة اقتحمت"
        return any(j in span and crowd(j) for j in range(max(0, i - 2), i))

    @staticmethod
    def _fighting_told(stems) -> bool:
        """The sentence reports fighting or a strike: a death in it is that event's casualty
        ("مقتل القيادي ... في غارة")."""
        return any(FAMILY.get(TRIGGERS.get(x, ""), "") in ("fight", "remote")
                   for st in stems for x in st)

    @staticmethod
    def _told_just_before(events: list["Event"], s_start: int, target: Mention,
                          type_: str) -> bool:
        """The sentence has no time of its own and an event of the sentence or two before
        (same paragraph or the next one) is at the same place, in the same family or a fight
        that this change of control ends: the same incident told again ("اقتحمت الكتائب وسط
        الزاوية ... . وأضاف أن الثوار انسحبوا من الساحة بعد ساعات من المعارك")."""
        for e in reversed(events):
            if e.start >= s_start:
                continue
            if e.end < s_start - 400:
                break
            if e.place.place.id != target.place.id:
                continue
            if e.family == FAMILY[type_] or (e.family == "fight"
                                            and FAMILY[type_] == "control"):
                return True
        return False

    def _recalled(self, stems, words, events: list["Event"], s_start: int) -> dict:
        """Triggers of a sentence that names no place but refers back explicitly to an event
        told before, with that event: "تعرض لقصف مماثل" (the last strike), "غارات على
        المجمع" (the last event told of the compound), "في المدينة" (the last event in a
        town)."""
        out: dict[int, Event] = {}
        if not events:
            return out
        for i, st in enumerate(stems):
            type_ = next((TRIGGERS[x] for x in st if x in TRIGGERS), None)
            if type_ is None:
                continue
            ref = None
            if any(x & SIMILAR for x in stems[i + 1:i + 3]):
                ref = next((e for e in reversed(events) if e.family == FAMILY[type_]), None)
            elif FAMILY[type_] == "remote":
                for j in range(i + 1, min(i + 5, len(stems))):
                    nouns = stems[j] & PLACE_NOUNS
                    if not nouns or not (words[j] not in PLACE_NOUNS
                                         or stems[j - 1] & BACK_PREPS):
                        continue
                    noun = next(iter(nouns))
                    if noun in ANAPHORS:
                        ref = next((e for e in reversed(events)
                                    if e.place.place.kind in TOWN_KINDS), None)
                    else:
                        bare = noun[2:]
                        ref = next((e for e in reversed(events)
                                    if bare in normalize_name(e.sentence)), None)
                    break
            if ref is not None:
                out[i] = ref
        return out

    def _blame(self, stems, toks, s_start: int, actor_mentions, events: list["Event"]) -> None:
        """An accusation that names a strike ("وحمّلت حكومة الوفاق قوات حفتر المسؤولية عن
        القصف", "متهما طائرات أجنبية بقصف مواقعه") gives the accused side to the last strike
        or attack told before (in this paragraph or the one before) that names no armed side
        but the accuser."""
        if not events or self.factions is None:
            return
        k = next((j for j, st in enumerate(stems) if st & ACCUSE), None)
        if k is None:
            return
        strike = any(TRIGGERS.get(x) in ("airstrike", "shelling", "explosion", "attack")
                     for st in stems[k:] for x in st)
        if not strike:
            return
        if stems[k] & {normalize_name(w) for w in ("حمل", "حملت", "حملوا", "يحمل", "تحمل")} \
                and not any(st & RESPONSIBILITY for st in stems[k:]):
            return  # "حمل" is also "to carry"
        verb_at = toks[k][1] + s_start
        armed = [a for a in actor_mentions
                 if self.factions.get(a.faction_id).kind in ARMED_KINDS]
        after = [a for a in armed if a.start > verb_at]
        before = [a for a in armed if a.start < verb_at]
        if stems[k] & ACCUSE_PARTICIPLES or before:
            accused = after[:1]  # the subject was named before the verb
            accuser = [a.faction_id for a in before]
        else:
            accused = after[1:2]  # "اتهمت X Y": X accuses Y
            accuser = [a.faction_id for a in after[:1]]
        if not accused:
            return
        who = accused[0].faction_id
        for e in reversed(events):
            if e.end < s_start - 800:
                return
            if e.family != "remote" and e.type != "attack":
                continue
            sides = [f for f in e.actors if f not in UNARMED]
            if who in sides:
                return
            if not sides or set(sides) <= set(accuser):
                e.actors = [who, *(f for f in e.actors if f not in sides)]
            return

    @staticmethod
    def _same_incident(events: list["Event"], struck: set[str] = frozenset()) -> set[int]:
        """ids of a sentence's events that describe another of its events at the same place:
        "غارة جوية استهدفت مركز الإيواء" (the strike is the attack: keep the strike);
        "الاشتباكات ... وسط قصف متبادل بالمدفعية" (artillery inside a clash: EVENTS-README,
        alt_types shelling)."""
        out: set[int] = set()
        for e in events:
            here = [o for o in events if o is not e and o.place.place.id == e.place.place.id
                    and o.date == e.date]
            if e.type == "attack" and (any(o.family == "remote" for o in here)
                                       or e.place.place.id in struck):
                # "ما تتعرض له مدينة درنة من هجوم مصري وقصف جوي": the strike again
                out.add(id(e))
            elif e.type == "shelling" and any(o.type == "armed_clash" for o in here):
                out.add(id(e))
        return out

    def _armed_entry(self, i: int, toks, s_start: int, acting, usable) -> bool:
        """"دخلت قوات الوفاق مدينة العجيلات", "كان الثوار قد دخلوا طرابلس": an armed party
        within five words before or after the verb, and a place within six words after it."""
        lo = toks[max(0, i - 5)][1] + s_start
        hi = toks[min(len(toks) - 1, i + 5)][2] + s_start
        far = toks[min(len(toks) - 1, i + 6)][2] + s_start
        here = toks[i][2] + s_start
        armed = any(lo <= a.start < hi and self.factions.get(a.faction_id).kind in ARMED_KINDS
                    for a in acting)
        return armed and any(here <= m.start <= far for m in usable)

    @staticmethod
    def _speech_clause(stems, toks, s_start: int, breaks: list[int], clause: int) -> bool:
        """The trigger's clause opens with a speech verb (SPEECH_HEADS) in its first words."""
        begin = breaks[clause - 1] if clause > 0 else s_start
        head = [st for st, t in zip(stems, toks) if t[1] + s_start >= begin][:3]
        return any(st & SPEECH_HEADS for st in head)

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
            words = re.sub(r"[،,]", " ", gap).split()  # "، ومنها صبراتة وصرمان"
            if not words and not m.text.startswith("و"):
                break  # "في مدينة بنغازي، شرق ليبيا": an apposition, not a list
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
            if not _organisation_word(form):
                continue
            if any(a <= start < b for a, b in taken):
                continue  # part of a name ("تنظيم الدولة")
            before = [a for a in jihadist if a.end <= start]
            fid = before[-1].faction_id if before else most
            extra.append(ActorMention(fid, text[start:end], start, end, 0.7, "التنظيم"))
        return sorted([*actors, *extra], key=lambda a: a.start) if extra else actors

    @staticmethod
    def _aside(stems: list[frozenset[str]], words: list[str],
               forms: frozenset[str] | None = None) -> bool:
        """A sentence that speaks of no fighting (no trigger, no aircraft) and tells of a
        meeting, a call, a plan or another subject ("من جانب آخر، أعلن ... الناتو ... بهدف
        بناء جيش"): its parties are not the ones the next sentence continues with."""
        if forms is None:
            forms = frozenset().union(*stems)
        if not forms.isdisjoint(_TRIGGER_FORMS) or not forms.isdisjoint(AIR_WORDS):
            return False
        if not forms.isdisjoint(_SPEAKER_OR_PLAN):
            return True
        return any(w in ("اخر", "اخري") and k > 0 and words[k - 1] in SHIFT_WORDS
                   for k, w in enumerate(words))

    @staticmethod
    def _speakers(actor_mentions, toks, stems, s_start: int, breaks: list[int]) -> set[int]:
        """ids of the mentions that are the subject or object of a denial, condemnation or
        call (SPEAKER_WORDS) a few words before them in the same clause: "بينما نفى اللواء
        المتقاعد خليفة حفتر أن ...", "بعد يوم من تنديد المؤتمر بالحملة"."""
        out: set[int] = set()
        if not actor_mentions:
            return out
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
    def _new_report(words: list[str], k: int) -> bool:
        """The clause starting at word k opens with "و" + a past-tense verb of reporting or
        acting ("وأعلنوا", "وأعلن", "وشنت"): a new statement, not the plan's continuation."""
        return 0 < k < len(words) and words[k].startswith("و") and \
            _word_forms(words[k]) & NEW_REPORT

    @staticmethod
    def _not_concrete(stems: list[set[str]], i: int, lo: int = 0, clause: int = 0,
                      forms: frozenset[str] | None = None) -> bool:
        """A denial, plan, threat or diplomatic word governs the trigger (within the few words
        before it, from `lo` on), or the trigger is a noun of a future operation. `forms`:
        the union of `stems`, when the caller has it (lists none of them holds are skipped)."""
        if forms is None or not forms.isdisjoint(_DENIAL_OR_PLAN):
            window = stems[max(lo, i - 10):i]
            for st in window:
                if st & DENIAL or st & PLAN:
                    return True
        # a negation stays in its clause: "دون وقوع أضرار بشرية، كما استهدف تفجير آخر ..."
        if (forms is None or not forms.isdisjoint(NEGATION)) \
                and any(st & NEGATION for st in stems[max(clause, i - 6):i]):
            return True  # "لن تستعيد السيطرة", "لا يستقيم ... إلا بالسيطرة"
        if i + 1 < len(stems) and any(x.startswith("ال") for x in stems[i]) and (
                stems[i + 1] & NEGATION or stems[i + 1] & PLAN):
            return True  # "المعركة لن تتوقف عند براك": about the campaign, no incident
        if i > 0 and stems[i - 1] & OPERATION_NAME:
            return True  # "غرفة عمليات تحرير سرت": a name
        if any(st & CESSATION for st in stems[max(0, i - 2):i]):
            return True  # "وتوقفت الاشتباكات": fighting ended
        for j in range(max(0, i - 6), min(len(stems) - 1, i + 6)) \
                if forms is None or SINCE in forms else ():
            nxt = stems[j + 1]
            if SINCE in stems[j] and (nxt & SPAN_WORDS or any(
                    x.isdigit() and len(x) == 4 for x in nxt)):
                return True  # "مواجهات متقطعة منذ سبتمبر الماضي": a lasting state
        window = stems[max(0, i - 3):i]
        return any(st & DIPLOMACY for st in window)

    @staticmethod
    def _place_for(trig_clause: int, trig_pos: int,
                   by_clause: dict[int, list[Mention]], usable: list[Mention],
                   wide: list[Mention] = (), breaks: list[int] = (),
                   text: str = "") -> Mention | None:
        """The place of the trigger's clause: the first after it, else the last before it.
        A clause without a place takes the sentence's first town or facility (its topic: "
        وسيطرت قوات ... على حاجز جسر 27 ..., لكنها انسحبت"), never a region. Places abroad
        only when nothing in Libya is named; never the country as a whole.

        A clause whose only place is a country or a region (`wide`, e.g. "وبحثا انسحاب القوات
        الأجنبية من ليبيا", "أي هجوم على ليبيا") is located there, and a country is no event
        place: it borrows no town from another clause unless the next clause continues it
        ("، وعلى مدينة غريان", "، وتحديدا في سرت", "، مدينة سرت")."""
        if not usable:
            return None
        allowed = {id(m) for m in usable}
        same = [m for m in by_clause.get(trig_clause, ()) if id(m) in allowed]
        own_wide = [m for m in wide if bisect_right(breaks, m.start) == trig_clause]
        if not same:
            if own_wide:
                return EventExtractor._linked_place(trig_clause, by_clause, allowed, breaks,
                                                    text)
            topic = [m for m in usable if not m.place.is_area]
            return topic[0] if topic else None
        libyan = [m for m in same if m.place.in_libya] or same
        after = [m for m in libyan if m.start >= trig_pos]
        if after:
            return min(after, key=lambda m: m.start)
        if any(m.start >= trig_pos for m in own_wide):
            # "ضرورة العمل على انسحاب المرتزقة من ليبيا" after "في طرابلس": the country is
            # the object; the town before the trigger is where the speaker was
            return None
        return max(libyan, key=lambda m: m.start)

    @staticmethod
    def _linked_place(clause: int, by_clause: dict[int, list[Mention]], allowed: set[int],
                      breaks: list[int], text: str) -> Mention | None:
        """The first place of the clause after `clause` when that clause continues the same
        verb ("و" + a preposition) or is an apposition ("وتحديدا", a place straight after the
        comma); otherwise None."""
        if clause >= len(breaks):
            return None
        nxt = [m for m in by_clause.get(clause + 1, ()) if id(m) in allowed]
        if not nxt:
            return None
        head = text[breaks[clause]:nxt[0].start]
        head = re.sub(r"^[،,;:؛]|^\s*(?:بينما|فيما|في حين|كما|لكن|إلا أن)\s", "", head)
        words = [normalize_name(w) for w in re.sub(r"[«»\"'“”]", " ", head).split()]
        if not words:
            return nxt[0]  # "قصفت الطائرات مواقع في ليبيا، مدينة سرت تحديدا"
        first = words[0]
        if first.startswith("و") and first[1:] in LINK_PREPS or first in APPOSITION_WORDS:
            if len(words) <= 4:
                return nxt[0]
        return None

    @staticmethod
    def _in_organisation_name(text: str, m: Mention) -> bool:
        """"قوة حماية طرابلس", "مجلس شورى مجاهدي درنة", "كتائب ثوار بنغازي": the place names
        who acts, not where."""
        before = [normalize_name(w) for w in text[max(0, m.start - 16):m.start].split()]
        return bool(before) and (before[-1] in ORG_HEADS
                                 or " ".join(before[-2:]) in ORG_PHRASES
                                 or (len(before) > 1 and before[-1] == "مع"
                                     and before[-2] in ALLIED))

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
