from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wagtail_wa_consent.webhooks.keywords import KEYWORDS, KeywordIntent, match_keyword, normalise


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("STOP", "STOP"),
        (" stop! ", "STOP"),
        ("Stop.", "STOP"),
        ("ＳＴＯＰ", "STOP"),
        ("UNSUBSCRIBE", "STOP"),
        ("Stopp", "STOP"),
        ("Stópp", "STOP"),
        ("abmelden", "STOP"),  # de
        ("ARRÊT", "STOP"),
        ("arret", "STOP"),  # fr
        ("Parar", "STOP"),
        ("BAJA", "STOP"),  # es, pt
        ("basta", "STOP"),
        ("afmelden", "STOP"),  # it, nl
        ("СТОП", "STOP"),
        ("Отписаться", "STOP"),  # ru
        ("توقف", "STOP"),
        ("تَوَقَّفْ", "STOP"),
        ("تـوقـف", "STOP"),
        ("إلغاء الاشتراك", "STOP"),  # ar
        ("Toʻxta", "STOP"),
        ("TOXTA", "STOP"),
        ("тўхта", "STOP"),
        ("bekor qilish", "STOP"),  # uz
        ("DUR", "STOP"),
        ("İPTAL", "STOP"),
        ("iptal", "STOP"),  # tr
        ("Stop promotions", "STOP_PROMOTIONS"),
        ("STOP ANGEBOTE", "STOP_PROMOTIONS"),
        ("Werbung stoppen", "STOP_PROMOTIONS"),
        ("START", "START"),
        ("starten", "START"),
        ("Hilfe", "HELP"),
        ("ПОМОЩЬ", "HELP"),
        ("مساعدة", "HELP"),
        ("yes", "YES"),
        ("Ja", "YES"),
        ("Да", "YES"),
        ("نعم", "YES"),
        ("Evet", "YES"),
        ("nein", "NO"),
        ("Нет", "NO"),
        ("yoʻq", "NO"),
        ("Hayır", "NO"),
    ],
)
def test_keywords_in_many_languages(text, intent):
    assert match_keyword(text) == KeywordIntent(intent)


@pytest.mark.parametrize(
    "text",
    [
        "please don't stop",
        "stop sending me the wrong size",
        "nonstop",
        "stopwatch",
        "I said yes to the dress",
        "",
        "   ",
        "?!",
        None,
    ],
)
def test_not_a_keyword(text):
    assert match_keyword(text) is None


def test_payload_wins_over_text_and_extra_words():
    assert match_keyword("Yes", "WA_CONSENT_NO") == KeywordIntent.NO
    assert match_keyword("Stop promotions", "WA_CONSENT_STOP_PROMOTIONS") == KeywordIntent.STOP_PROMOTIONS
    assert match_keyword("HALT") is None
    assert match_keyword("halt", extra={"STOP": ["HALT"]}) == KeywordIntent.STOP


def test_every_default_word_matches_its_own_intent():
    for intent, languages in KEYWORDS.items():
        for words in languages.values():
            for word in words:
                assert match_keyword(word) is not None, word


words = st.sampled_from([w for langs in KEYWORDS.values() for ws in langs.values() for w in ws])


@settings(max_examples=200, deadline=None)
@given(words, st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8), st.booleans())
def test_a_keyword_inside_a_longer_word_never_matches(word, letters, before):
    text = letters + normalise(word) if before else normalise(word) + letters
    if normalise(text) in {normalise(w) for langs in KEYWORDS.values() for ws in langs.values() for w in ws}:
        return  # the combination happens to be another keyword ("stop" + "p" = "stopp")
    assert match_keyword(text) is None


@settings(max_examples=200, deadline=None)
@given(words, st.sampled_from(["please ", "i want to ", "don't "]))
def test_a_keyword_inside_a_sentence_never_matches(word, prefix):
    assert match_keyword(prefix + word + " now") is None
