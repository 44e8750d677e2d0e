"""Keywords people send to manage consent in WhatsApp: STOP, START, HELP, Yes / No.

Matching is exact on the whole message after :func:`normalise` (case, accents, Arabic harakat
and tatweel, full-width letters, Turkish dotted/dotless i, surrounding punctuation, emoji and
spaces), never a substring: "please don't stop" is not STOP, "nonstop" is nothing.

The default words live in one dict per intent, keyed by language code (``STOP_WORDS`` …), so the
documentation can list them; :data:`KEYWORDS` maps each intent to its dict.
"""

from __future__ import annotations

import enum
import functools
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

logger = logging.getLogger("wagtail_wa_consent.webhooks")

#: Quick-reply button payloads the plugin sends; a payload wins over the button's text.
PAYLOAD_YES = "WA_CONSENT_YES"
PAYLOAD_NO = "WA_CONSENT_NO"
PAYLOAD_STOP_PROMOTIONS = "WA_CONSENT_STOP_PROMOTIONS"


class KeywordIntent(enum.StrEnum):
    """What a keyword asks for."""

    STOP = "STOP"  # withdraw every category
    STOP_PROMOTIONS = "STOP_PROMOTIONS"  # withdraw marketing only
    START = "START"  # ask to opt in again (answered by a fresh confirmation request)
    HELP = "HELP"
    YES = "YES"  # confirms a pending double opt-in
    NO = "NO"  # declines a pending double opt-in


# Words are written as people type them; normalise() makes "ARRÊT", "arret" and "Arrêt!" equal,
# so listing both the accented and the plain spelling is only for the docs' readers.
STOP_WORDS: dict[str, list[str]] = {
    "en": [
        "stop",
        "stopall",
        "stop all",
        "unsubscribe",
        "end",
        "quit",
        "cancel",
        "optout",
        "opt out",
        "revoke",
    ],
    "de": ["stopp", "abmelden", "abbestellen", "beenden"],
    "fr": ["arrêt", "arreter", "désabonner", "désinscription"],
    "es": ["parar", "baja", "cancelar", "detener"],
    "it": ["basta", "disiscrivi", "annulla", "fermati"],
    "nl": ["stoppen", "afmelden", "uitschrijven"],
    "pt": ["parar", "sair", "cancelar"],
    "ru": ["стоп", "отписаться", "отписка", "хватит"],
    "ar": ["توقف", "إيقاف", "إلغاء الاشتراك", "إلغاء"],
    "uz": ["to'xta", "toxta", "тўхта", "bekor qilish", "obunani bekor qilish", "бекор қилиш"],
    "tr": ["dur", "iptal", "abonelikten çık"],
}
STOP_PROMOTIONS_WORDS: dict[str, list[str]] = {
    "en": ["stop promotions", "stop promotion", "stop offers", "stop marketing"],
    "de": ["werbung stoppen", "stop angebote", "stopp angebote", "stopp werbung", "keine werbung"],
    "fr": ["arrêt promotions", "stop promotions"],
    "es": ["parar promociones", "detener promociones"],
    "it": ["stop promozioni"],
    "nl": ["stop promoties"],
    "pt": ["parar promoções"],
    "ru": ["стоп реклама", "стоп акции"],
    "ar": ["إيقاف العروض"],
    "uz": ["reklamani to'xtatish"],
    "tr": ["promosyonları durdur", "kampanyaları durdur"],
}
START_WORDS: dict[str, list[str]] = {
    "en": ["start", "unstop", "subscribe", "resume"],
    "de": ["starten", "anmelden"],
    "fr": ["démarrer"],
    "es": ["empezar", "alta"],
    "it": ["inizia"],
    "nl": ["starten", "aanmelden"],
    "pt": ["começar"],
    "ru": ["старт", "подписаться"],
    "ar": ["ابدأ", "اشتراك"],
    "uz": ["boshlash"],
    "tr": ["başla"],
}
HELP_WORDS: dict[str, list[str]] = {
    "en": ["help", "info"],
    "de": ["hilfe"],
    "fr": ["aide"],
    "es": ["ayuda"],
    "it": ["aiuto"],
    "nl": ["hulp"],
    "pt": ["ajuda"],
    "ru": ["помощь"],
    "ar": ["مساعدة"],
    "uz": ["yordam"],
    "tr": ["yardım"],
}
YES_WORDS: dict[str, list[str]] = {
    "en": ["yes", "y"],
    "de": ["ja"],
    "fr": ["oui"],
    "es": ["sí"],
    "it": ["sì"],
    "nl": ["ja"],
    "pt": ["sim"],
    "ru": ["да"],
    "ar": ["نعم"],
    "uz": ["ha"],
    "tr": ["evet"],
}
NO_WORDS: dict[str, list[str]] = {
    "en": ["no", "n"],
    "de": ["nein"],
    "fr": ["non"],
    "es": ["no"],
    "it": ["no"],
    "nl": ["nee"],
    "pt": ["não"],
    "ru": ["нет"],
    "ar": ["لا"],
    "uz": ["yo'q", "yoq"],
    "tr": ["hayır"],
}

#: Default words per intent and language (matched after normalisation; listed in the docs).
KEYWORDS: dict[KeywordIntent, dict[str, list[str]]] = {
    KeywordIntent.STOP: STOP_WORDS,
    KeywordIntent.STOP_PROMOTIONS: STOP_PROMOTIONS_WORDS,
    KeywordIntent.START: START_WORDS,
    KeywordIntent.HELP: HELP_WORDS,
    KeywordIntent.YES: YES_WORDS,
    KeywordIntent.NO: NO_WORDS,
}

_PAYLOADS = {
    PAYLOAD_YES: KeywordIntent.YES,
    PAYLOAD_NO: KeywordIntent.NO,
    PAYLOAD_STOP_PROMOTIONS: KeywordIntent.STOP_PROMOTIONS,
}
# Arabic harakat (U+064B-U+065F, U+0670) and tatweel (U+0640) carry no meaning for matching.
_ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670\u0640]")
_SPACES = re.compile(r"\s+")
# Uzbek Latin writes o' / g' with any of these; people type whichever their keyboard has.
_APOSTROPHES = str.maketrans({"ʻ": "'", "ʼ": "'", "’": "'", "‘": "'", "`": "'", "´": "'"})
# Longer texts are never a keyword; cheap guard before Unicode normalisation.
_MAX_LENGTH = 256


def normalise(text: str) -> str:
    """Fold ``text`` for comparison: case, accents, marks, apostrophes, spaces, punctuation.

    Punctuation, symbols and emoji become spaces (so only the words count), runs of spaces
    collapse and the result is trimmed: ``" Stópp! "`` -> ``"stopp"``.
    """
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    # Turkish dotted capital I (U+0130) casefolds to "i" plus a dot, and dotless i (U+0131)
    # stays apart from "i"; people mean plain i either way.
    text = text.replace("İ", "I").replace("ı", "i")
    text = _ARABIC_MARKS.sub("", text.casefold())
    decomposed = unicodedata.normalize("NFKD", text)
    # Dropping combining marks folds accented Latin, Cyrillic short u / short i and Arabic hamza
    # seats to their base letters: how people type without the right keyboard.
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    text = "".join(ch if (ch.isalnum() or ch in " '") else " " for ch in text)
    return _SPACES.sub(" ", text).strip(" '")


def _words(value: Any) -> list[str]:
    """Words from a setting value: a list of strings, or one string."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, Mapping | bytes):
        return [word for word in value if isinstance(word, str)]
    return []


def _intent(name: Any) -> KeywordIntent | None:
    if isinstance(name, KeywordIntent):
        return name
    try:
        return KeywordIntent(str(name).strip().upper())
    except ValueError:
        logger.warning("EXTRA_KEYWORDS: unknown intent %r ignored", str(name)[:40])
        return None


@functools.lru_cache(maxsize=16)
def _table(extra: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> dict[str, KeywordIntent]:
    table: dict[str, KeywordIntent] = {}
    for intent, by_language in KEYWORDS.items():
        for words in by_language.values():
            for word in words:
                table.setdefault(normalise(word), intent)
    for name, words in extra:
        intent = _intent(name)
        for word in words if intent else ():
            if key := normalise(word):
                table[key] = intent  # a shop's own word wins over a default
    return table


def _freeze(extra: Mapping[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((str(name), tuple(_words(words))) for name, words in extra.items())


def match_keyword(
    text: str | None, payload: str | None = None, *, extra: Mapping[str, Any] | None = None
) -> KeywordIntent | None:
    """The intent of a whole message, or None.

    ``payload`` is a quick-reply ``payload`` or an interactive reply ``id``; the plugin's own
    payloads (``PAYLOAD_*``) win over the text. ``extra`` adds words per intent name, e.g.
    ``{"STOP": ["HALT"], "HELP": ["INFO"]}`` (the ``EXTRA_KEYWORDS`` setting); unknown intent
    names are ignored with a warning so a settings typo never stops STOP from working.
    """
    if isinstance(payload, str) and payload in _PAYLOADS:
        return _PAYLOADS[payload]
    if not isinstance(text, str) or not text or len(text) > _MAX_LENGTH:
        return None
    table = _table(_freeze(extra)) if isinstance(extra, Mapping) and extra else _table()
    return table.get(normalise(text))
