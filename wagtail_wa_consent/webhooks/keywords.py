"""Keywords people send to manage consent in WhatsApp: STOP, START, HELP, Yes / No.

Matching is exact on the whole message after normalisation (case, accents, Arabic diacritics,
full-width letters, surrounding punctuation and spaces), never a substring: "please don't stop"
is not STOP.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable, Mapping

#: Quick-reply button payloads the plugin sends; a payload wins over the button's text.
PAYLOAD_YES = "WA_CONSENT_YES"
PAYLOAD_NO = "WA_CONSENT_NO"
PAYLOAD_STOP_PROMOTIONS = "WA_CONSENT_STOP_PROMOTIONS"


class KeywordIntent(enum.StrEnum):
    STOP = "STOP"
    STOP_PROMOTIONS = "STOP_PROMOTIONS"
    START = "START"
    HELP = "HELP"
    YES = "YES"
    NO = "NO"


#: Default words per intent and language (matched after normalisation; listed in the docs).
KEYWORDS: dict[KeywordIntent, dict[str, list[str]]] = {
    KeywordIntent.STOP: {
        "en": ["stop", "stopall", "unsubscribe", "end", "quit", "cancel", "optout", "opt out", "revoke"],
        "de": ["stopp", "abmelden", "abbestellen", "beenden"],
        "fr": ["arret", "arrêt", "desabonner", "désabonner", "desinscription"],
        "es": ["parar", "baja", "cancelar", "detener"],
        "it": ["basta", "disiscrivi", "annulla", "fermati"],
        "nl": ["stoppen", "afmelden", "uitschrijven"],
        "pt": ["parar", "sair", "cancelar"],
        "ru": ["стоп", "отписаться", "отписка", "хватит"],
        "ar": ["توقف", "إيقاف", "الغاء الاشتراك", "إلغاء الاشتراك", "الغاء"],
        "uz": ["toxta", "to'xta", "toʻxta", "тўхта", "bekor qilish", "obunani bekor qilish"],
        "tr": ["dur", "iptal", "abonelikten cik", "abonelikten çık"],
    },
    KeywordIntent.STOP_PROMOTIONS: {
        "en": ["stop promotions", "stop promotion", "stop offers", "stop marketing"],
        "de": ["werbung stoppen", "stop angebote", "stopp angebote", "stopp werbung", "keine werbung"],
        "fr": ["arret promotions", "stop promotions"],
        "es": ["parar promociones", "detener promociones"],
        "it": ["stop promozioni"],
        "nl": ["stop promoties"],
        "pt": ["parar promocoes", "parar promoções"],
        "ru": ["стоп реклама", "стоп акции"],
        "ar": ["إيقاف العروض", "ايقاف العروض"],
        "uz": ["reklamani toxtatish"],
        "tr": ["promosyonlari durdur", "kampanyalari durdur"],
    },
    KeywordIntent.START: {
        "en": ["start", "unstop", "subscribe", "resume"],
        "de": ["starten", "anmelden"],
        "fr": ["demarrer", "démarrer"],
        "es": ["empezar", "alta"],
        "it": ["inizia"],
        "nl": ["starten", "aanmelden"],
        "pt": ["comecar", "começar"],
        "ru": ["старт", "подписаться"],
        "ar": ["ابدأ", "اشتراك"],
        "uz": ["boshlash"],
        "tr": ["basla", "başla"],
    },
    KeywordIntent.HELP: {
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
        "tr": ["yardim", "yardım"],
    },
    KeywordIntent.YES: {
        "en": ["yes", "y"],
        "de": ["ja"],
        "fr": ["oui"],
        "es": ["si", "sí"],
        "it": ["si", "sì"],
        "nl": ["ja"],
        "pt": ["sim"],
        "ru": ["да"],
        "ar": ["نعم"],
        "uz": ["ha"],
        "tr": ["evet"],
    },
    KeywordIntent.NO: {
        "en": ["no", "n"],
        "de": ["nein"],
        "fr": ["non"],
        "es": ["no"],
        "it": ["no"],
        "nl": ["nee"],
        "pt": ["nao", "não"],
        "ru": ["нет"],
        "ar": ["لا"],
        "uz": ["yo'q", "yoʻq", "yoq"],
        "tr": ["hayir", "hayır"],
    },
}

_PAYLOADS = {
    PAYLOAD_YES: KeywordIntent.YES,
    PAYLOAD_NO: KeywordIntent.NO,
    PAYLOAD_STOP_PROMOTIONS: KeywordIntent.STOP_PROMOTIONS,
}
# Arabic harakat (U+064B-U+065F, U+0670) and tatweel (U+0640) carry no meaning for matching.
_ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670\u0640]")
_SPACES = re.compile(r"\s+")
_APOSTROPHES = str.maketrans({"ʻ": "'", "ʼ": "'", "’": "'", "‘": "'", "`": "'"})


def normalise(text: str) -> str:
    """Casefold, strip accents and marks, unify apostrophes, collapse spaces, trim punctuation."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    # Turkish dotted capital I would casefold to "i̇"; plain "i" is what people mean.
    text = text.replace("İ", "I").replace("ı", "i")
    text = _ARABIC_MARKS.sub("", text.casefold())
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    text = "".join(ch if (ch.isalnum() or ch in " '") else " " for ch in text)
    text = _SPACES.sub(" ", text).strip(" '")
    # Russian "й" and "ё" lose their marks above; that matches how people type them anyway.
    return text


def _table(extra: Mapping[str, Iterable[str]] | None) -> dict[str, KeywordIntent]:
    table: dict[str, KeywordIntent] = {}
    for intent, by_language in KEYWORDS.items():
        for words in by_language.values():
            for word in words:
                table.setdefault(normalise(word), intent)
    for name, words in (extra or {}).items():
        for word in words:
            table[normalise(word)] = KeywordIntent(name)
    return table


_DEFAULT_TABLE = _table(None)


def match_keyword(
    text: str | None, payload: str | None = None, *, extra: Mapping[str, Iterable[str]] | None = None
) -> KeywordIntent | None:
    """The intent of a whole message, or None. ``extra`` adds words per intent name."""
    if payload and payload in _PAYLOADS:
        return _PAYLOADS[payload]
    if not text:
        return None
    table = _table(extra) if extra else _DEFAULT_TABLE
    return table.get(normalise(text))
