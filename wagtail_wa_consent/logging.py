"""A logging filter that keeps phone numbers and message bodies out of log files.

The app's own log lines name contacts and messages by id only. This filter is the safety net for
what slips through anyway: an exception whose text quotes a number, a third-party library that
logs a request, a developer's ``logger.info("%s", payload)``. Attach it to your handlers::

    LOGGING = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact_personal_data": {"()": "wagtail_wa_consent.logging.RedactPersonalData"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "filters": ["redact_personal_data"]},
        },
        "root": {"handlers": ["console"], "level": "WARNING"},
    }

The app's own loggers (``wagtail_wa_consent`` and below) are redacted even without that: its
``AppConfig.ready()`` calls :func:`install`.

What is masked (see ``docs/security.rst`` for the reasoning):

* a number written with ``+`` or ``00`` and 7 to 15 digits, grouped or not: ``+49…89`` (country
  code and the last two digits, as the admin masks numbers for users without the phone permission);
* a digit run without a prefix (Meta's ``wa_id``, a national number such as ``0151 2345678``,
  ``(650) 555-1234``): ``[phone]`` when it has 9 to 15 digits, or 8 digits that start with ``0`` or
  read as an international number, unless they read as a date;
* the values of the JSON / dict keys ``body``, ``text``, ``caption`` and ``payload`` and of
  ``text=``-style pairs: ``[redacted]``.

Dates (``2025-03-15``, ``20250315``), times, prices, IP addresses, order numbers up to 7 digits,
ids such as ``imp-20261123-123456`` and Meta's 16+ digit ids stay readable.
"""

from __future__ import annotations

import logging
import re
from datetime import date

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, is_possible_number, parse

__all__ = ["RedactPersonalData", "install", "redact"]

PHONE_MASK = "[phone]"
BODY_MASK = "[redacted]"
#: Keys whose values are message text (Meta's ``text.body``, ``button.text``, ``payload``, media captions).
BODY_KEYS = ("body", "text", "caption", "payload")

_SEP = r"(?:[\x20\-/\u00a0.]|\)\x20?|\x20?\()"  # between digit groups: a space, dash, slash, dot or bracket
_PHONE = re.compile(
    r"""
    (?P<prefix>(?<![\d+])\+\x20?|(?<![^\W_\\])00)?   # international prefix (a + may follow a word)
    (?(prefix)|(?<![^\W_+\\])(?<!\d[-.:/])(?<![^\W\d_]-))  # else not glued to a word, date, decimal,
                                                  # time, or an id's "word-" (imp-20261123-…)
    (?!\d{4}-\d\d-\d\d(?!\d))                    # an ISO date is not a number (its time may follow)
    (?P<number>\(?\d+(?:"""
    + _SEP
    + r"""\d+)*)
    (?![^\W_]|:\d)                                 # not glued to a word or a time either
    """,
    re.VERBOSE,
)
_KEYS = "|".join(BODY_KEYS)
# "body": "...", 'text': '...' (JSON, a dict's repr) and \"body\": \"...\" (JSON inside a JSON string).
_QUOTED_BODY = re.compile(
    rf"""(?P<key>(?P<q>["'])(?:{_KEYS})(?P=q)\s*:\s*)(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
)
_ESCAPED_BODY = re.compile(
    r'(?P<key>\\"(?:' + _KEYS + r')\\"\s*:\s*)\\"(?:[^\\"]|\\\\\\\\|\\\\\\"|\\\\[^\\"]|\\u[0-9a-fA-F]{4})*\\"'
)
# text=..., body="..." (a URL's query, keyword arguments in a repr).
_PAIR_BODY = re.compile(
    rf"""(?P<key>\b(?:{_KEYS})=)(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s&,;)\]}}]*)"""
)
_NON_DIGIT = re.compile(r"\D")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
#: Country calling codes by length, to show ``+49…`` of a masked number.
_COUNTRY_CODES = {str(code) for code in COUNTRY_CODE_TO_REGION_CODE}


def redact(text: str) -> str:
    """``text`` with phone numbers masked and message bodies removed."""
    text = _QUOTED_BODY.sub(_quoted_body, text)
    text = _ESCAPED_BODY.sub(lambda m: m["key"] + f'\\"{BODY_MASK}\\"', text)
    text = _PAIR_BODY.sub(lambda m: m["key"] + BODY_MASK, text)
    return _PHONE.sub(_phone, text)


def _quoted_body(match: re.Match[str]) -> str:
    quote = match["value"][0]
    return f"{match['key']}{quote}{BODY_MASK}{quote}"


def _phone(match: re.Match[str]) -> str:
    found, number = match.group(0), match["number"]
    digits = _NON_DIGIT.sub("", number)
    # A bracket that opens before the number and closes after it stays.
    kept = "(" if number.startswith("(") and ")" not in number else ""
    if match["prefix"]:
        if len(digits) < 7:
            return found
        return kept + (_international_mask(digits) if len(digits) <= 15 else PHONE_MASK)
    if "." in number and (number.count(".") == 1 or _IPV4.fullmatch(number)):
        return found  # a decimal number or an IPv4 address
    if len(digits) > 15:
        # One long run is an id (Meta's ids have 15 to 17 digits); grouped runs this long are
        # several numbers written one after another.
        return found if digits == number else kept + PHONE_MASK
    if len(digits) >= 9 or (len(digits) == 8 and _short_number(digits)):
        return kept + PHONE_MASK
    return found


def _short_number(digits: str) -> bool:
    """Eight digits: a national number (trunk ``0``) or a wa_id of a small country, not a date."""
    if _is_date(digits):
        return False
    if digits.startswith("0"):
        return True
    try:
        return bool(is_possible_number(parse("+" + digits, None)))
    except Exception:  # NumberParseException, or anything else: not a number
        return False


def _is_date(digits: str) -> bool:
    """``YYYYMMDD``, ``DDMMYYYY`` or ``MMDDYYYY`` with a year from 1900 to 2199."""
    for year, month, day in ((0, 4, 6), (4, 2, 0), (4, 0, 2)):
        try:
            found = date(
                int(digits[year : year + 4]), int(digits[month : month + 2]), int(digits[day : day + 2])
            )
        except ValueError:
            continue
        if 1900 <= found.year < 2200:
            return True
    return False


def _international_mask(digits: str) -> str:
    code = next((digits[:n] for n in (1, 2, 3) if digits[:n] in _COUNTRY_CODES), "")
    return f"+{code}…{digits[-2:]}" if code else PHONE_MASK


class RedactPersonalData(logging.Filter):
    """Rewrite a record so neither its message, its traceback nor its stack holds a phone
    number or a message body. Never drops a record and never raises."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._redact(record)
        except Exception:  # losing the log line would be worse than a vague one
            record.msg, record.args = f"[log message of {record.name} withheld: it could not be redacted]", ()
        return True

    def _redact(self, record: logging.LogRecord) -> None:
        try:
            message, fits = record.getMessage(), True
        except Exception:  # arguments that do not fit the format: keep both, redacted
            # (else logging's error report would print the raw arguments to stderr)
            message, fits = f"{record.msg} {record.args!r}", False
        redacted = redact(message)
        if redacted != message or not fits:
            # The arguments are merged in: a number may sit in any of them.
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)


class _RedactingHandler(logging.Handler):
    """Redacts each record in place before the handlers above it see it; emits nothing itself.

    A filter on a logger applies only to records logged on that very logger, not to its
    children's: a handler sees every record of the logger's tree.
    """

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.addFilter(RedactPersonalData())

    def emit(self, record: logging.LogRecord) -> None:
        # This handler makes the tree "handled": without another handler anywhere, Python's
        # last-resort handler would have printed warnings, so print them the same way.
        if logging.lastResort is not None and not _other_handlers(record.name, self):
            if record.levelno >= logging.lastResort.level:
                logging.lastResort.handle(record)


def _other_handlers(name: str, mine: logging.Handler) -> bool:
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None:
        if any(handler is not mine for handler in logger.handlers):
            return True
        logger = logger.parent if logger.propagate else None
    return False


def install(logger_name: str = "wagtail_wa_consent") -> None:
    """Redact every record of ``logger_name`` and its children before any handler sees it.

    Put first, so handlers configured on the same logger (in ``LOGGING``) see redacted records.
    Calling it again does nothing.
    """
    logger = logging.getLogger(logger_name)
    if not any(isinstance(handler, _RedactingHandler) for handler in logger.handlers):
        logger.handlers.insert(0, _RedactingHandler())
