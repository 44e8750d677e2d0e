"""Keyword matching: whole-message, many languages, never a substring."""

from __future__ import annotations

import logging

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from wagtail_wa_consent.webhooks.keywords import (
    KEYWORDS,
    PAYLOAD_NO,
    PAYLOAD_STOP_PROMOTIONS,
    PAYLOAD_YES,
    STOP_WORDS,
    KeywordIntent,
    match_keyword,
    normalise,
)

LANGUAGES = {"en", "de", "fr", "es", "it", "nl", "pt", "ru", "ar", "uz", "tr"}
ALL_WORDS = sorted(
    {word for by_language in KEYWORDS.values() for words in by_language.values() for word in words}
)
DEFAULT_TABLE = {normalise(word) for word in ALL_WORDS}

STOP_CASES = [
    # en
    "STOP",
    "stop",
    " stop! ",
    "Stop.",
    "STOP 🛑",
    "ＳＴＯＰ",
    "UNSUBSCRIBE",
    "End",
    "quit",
    "STOPALL",
    "Cancel",
    "OPTOUT",
    "opt-out",
    "Revoke",
    # de
    "Stopp",
    "Stópp",
    "ABMELDEN",
    "abmelden!",
    # fr
    "ARRÊT",
    "arret",
    "Arrêt.",
    "désabonner",
    "DESABONNER",
    # es, pt
    "Parar",
    "BAJA",
    "cancelar",
    "Sair",
    # it
    "basta",
    "Disiscrivi",
    # nl
    "stoppen",
    "Afmelden",
    # ru
    "СТОП",
    "стоп",
    "Отписаться",
    # ar: harakat, tatweel, hamza seat, Arabic punctuation
    "توقف",
    "تَوَقَّفْ",
    "تـوقـف",
    "إلغاء الاشتراك",
    "الغاء الاشتراك",
    "توقف،",
    # uz: Latin with every apostrophe people type, and Cyrillic
    "TOXTA",
    "To'xta",
    "Toʻxta",
    "to’xta",
    "ТЎХТА",
    "тўхта",
    "bekor qilish",
    "OBUNANI BEKOR QILISH",
    # tr: dotted capital I and dotless i
    "DUR",
    "İPTAL",
    "iptal",
    "IPTAL",
    "ABONELIKTEN CIK",
    "Abonelikten çık",
    "ABONELİKTEN ÇIK",
]


@pytest.mark.parametrize("text", STOP_CASES)
def test_stop_in_many_languages(text):
    assert match_keyword(text) is KeywordIntent.STOP


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Stop promotions", "STOP_PROMOTIONS"),
        ("STOP PROMOTIONS", "STOP_PROMOTIONS"),
        ("  stop   promotions!! ", "STOP_PROMOTIONS"),
        ("STOP ANGEBOTE", "STOP_PROMOTIONS"),
        ("Werbung stoppen", "STOP_PROMOTIONS"),
        ("parar promociones", "STOP_PROMOTIONS"),
        ("START", "START"),
        ("unstop", "START"),
        ("Starten", "START"),
        ("ANMELDEN", "START"),
        ("HELP", "HELP"),
        ("Hilfe", "HELP"),
        ("aide", "HELP"),
        ("AYUDA", "HELP"),
        ("Aiuto?", "HELP"),
        ("ПОМОЩЬ", "HELP"),
        ("مساعدة", "HELP"),
        ("Yordam", "HELP"),
        ("YARDIM", "HELP"),
        ("yardım", "HELP"),
        ("yes", "YES"),
        ("Yes!", "YES"),
        ("JA", "YES"),
        ("oui", "YES"),
        ("SÍ", "YES"),
        ("si", "YES"),
        ("Sì", "YES"),
        ("Sim", "YES"),
        ("Да", "YES"),
        ("نعم", "YES"),
        ("ha", "YES"),
        ("EVET", "YES"),
        ("no", "NO"),
        ("NEIN", "NO"),
        ("Non", "NO"),
        ("нет", "NO"),
        ("لا", "NO"),
        ("ﻻ", "NO"),  # the lam-alef ligature
        ("YO'Q", "NO"),
        ("yoʻq", "NO"),
        ("Hayır", "NO"),
        ("HAYIR", "NO"),
        ("não", "NO"),
    ],
)
def test_other_intents(text, intent):
    assert match_keyword(text) is KeywordIntent(intent)


@pytest.mark.parametrize(
    "text",
    [
        "please don't stop",
        "please don't stop sending",
        "stop sending me the wrong size",
        "nonstop",
        "stopwatch",
        "unstoppable",
        "I said yes to the dress",
        "yes please",
        "no idea",
        "where is my order? help",
        "Stop. Actually no, keep them coming",
        "s t o p",
        "sto p",
        "stop promotions and everything",
        "iptal edildi mi?",
        "не стоп",
        "",
        "   ",
        "?!",
        "🛑",
        None,
        "stop" + " " * 300,  # longer than any keyword can be
    ],
)
def test_not_a_keyword(text):
    assert match_keyword(text) is None


def test_payloads_win_over_text():
    assert match_keyword("Yes", PAYLOAD_NO) is KeywordIntent.NO
    assert match_keyword("No", PAYLOAD_YES) is KeywordIntent.YES
    assert match_keyword(None, PAYLOAD_STOP_PROMOTIONS) is KeywordIntent.STOP_PROMOTIONS
    assert match_keyword("Stop promotions", "some_other_app_payload") is KeywordIntent.STOP_PROMOTIONS
    assert match_keyword("title", "callback_data") is None
    assert match_keyword(None, "wa_consent_yes") is None  # payloads are exact


def test_extra_words_per_intent(caplog):
    assert match_keyword("HALT") is None
    assert match_keyword("halt!", extra={"STOP": ["HALT"]}) is KeywordIntent.STOP
    assert match_keyword("Infos", extra={"help": "infos"}) is KeywordIntent.HELP  # any case, one string
    assert (
        match_keyword("info", extra={KeywordIntent.START: ["info"]}) is KeywordIntent.START
    )  # own word wins
    with caplog.at_level(logging.WARNING, "wagtail_wa_consent.webhooks"):
        assert match_keyword("stop", extra={"STOPP": ["x"], "HELP": [None, 3]}) is KeywordIntent.STOP
    assert "STOPP" in caplog.text
    assert match_keyword("halt") is None  # extra words do not leak into the defaults


def test_word_lists_cover_every_language_and_intent():
    assert set(KEYWORDS) == set(KeywordIntent)
    assert KEYWORDS[KeywordIntent.STOP] is STOP_WORDS
    for intent, by_language in KEYWORDS.items():
        assert set(by_language) == LANGUAGES, intent


@pytest.mark.parametrize("intent", list(KeywordIntent))
def test_every_default_word_matches_its_own_intent(intent):
    for language, words in KEYWORDS[intent].items():
        for word in words:
            assert match_keyword(word) is intent, (language, word)
            assert match_keyword(word.upper()) is intent, (language, word)


def test_normalise():
    assert normalise(" Stópp!! ") == "stopp"
    assert normalise("İPTAL") == normalise("iptal") == "iptal"
    assert normalise("تَوَقَّفْ") == normalise("تـوقـف") == "توقف"
    assert normalise("toʻxta") == "to'xta"
    assert normalise("ＳＴＯＰ  ALL") == "stop all"


letters = st.text(st.characters(categories=("Ll", "Lu", "Lo")), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ALL_WORDS), letters, st.sampled_from(["before", "after", "both"]))
def test_a_keyword_inside_a_longer_word_never_matches(word, extra, where):
    glued = normalise(extra)
    assume(glued and " " not in glued)  # letters that stay letters after normalisation
    core = normalise(word)
    text = {"before": glued + core, "after": core + glued, "both": glued + core + glued}[where]
    assume(normalise(text) not in DEFAULT_TABLE)  # "stop" + "p" is "stopp", itself a keyword
    assert match_keyword(text) is None


fillers = st.sampled_from(["please", "don't", "now", "the", "bitte", "merci", "ok", "😀", "123", "mi"])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ALL_WORDS), st.lists(fillers, max_size=3), st.lists(fillers, max_size=3))
def test_a_keyword_inside_a_sentence_never_matches(word, before, after):
    text = " ".join([*before, word, *after])
    assume(normalise(text) != normalise(word))  # at least one real word around it
    assume(normalise(text) not in DEFAULT_TABLE)
    assert match_keyword(text) is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.none() | st.text(max_size=30))
def test_match_keyword_is_total_and_normalise_is_idempotent(text, payload):
    result = match_keyword(text, payload)
    assert result is None or isinstance(result, KeywordIntent)
    assert normalise(normalise(text)) == normalise(text)
