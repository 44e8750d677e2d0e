"""The shipped translations: complete catalogues, compiled, and used when a page is shown in that
language (Arabic right to left)."""

from __future__ import annotations

import gettext
import subprocess
from pathlib import Path

import pytest
from django.test import Client

from .storefront import build_shop

LOCALE = Path(__file__).resolve().parents[1] / "wagtail_wa_consent" / "locale"
LANGUAGES = ["de", "ar", "ru", "uz"]


def entries(po: Path) -> list[tuple[str, list[str]]]:
    """(msgid, msgstrs) of every entry but the header, with continuation lines joined."""
    result, msgid, msgstrs, current = [], None, [], None
    for line in [*po.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("msgid "):
            msgid, msgstrs, current = line[7:-1], [], "id"
        elif line.startswith("msgstr"):
            msgstrs.append(line.split(" ", 1)[1][1:-1])
            current = "str"
        elif line.startswith('"') and current == "id":
            msgid += line[1:-1]
        elif line.startswith('"') and current == "str":
            msgstrs[-1] += line[1:-1]
        elif not line.strip() and msgid is not None:
            if msgid:
                result.append((msgid, msgstrs))
            msgid, current = None, None
    return result


def catalog(mo: Path) -> dict:
    with mo.open("rb") as handle:
        return gettext.GNUTranslations(handle)._catalog


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete_and_compiled(language, tmp_path):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    catalogue = entries(po)
    assert len(catalogue) > 300
    assert not [msgid for msgid, strs in catalogue if not all(strs)], "untranslated entries"
    assert "#, fuzzy" not in po.read_text(encoding="utf-8")
    fresh = tmp_path / "django.mo"
    check = subprocess.run(["msgfmt", "--check", "-o", str(fresh), str(po)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert catalog(fresh) == catalog(mo), "the shipped .mo is stale: run compilemessages"


@pytest.mark.parametrize(
    ("language", "heading", "button", "direction"),
    [
        ("de", "Updates über WhatsApp erhalten", "Bestätigung anfordern", "ltr"),
        ("ar", "احصل على التحديثات عبر واتساب", "إرسال التأكيد", "rtl"),
        ("ru", "Получать уведомления в WhatsApp", "Отправить подтверждение", "ltr"),
        ("uz", "WhatsApp orqali xabarlar olish", "Tasdiqlash so\u02bbrovini yuborish", "ltr"),
    ],
)
def test_the_opt_in_page_in_each_shipped_language(db, language, heading, button, direction):
    shop = build_shop()
    client = Client()
    client.cookies["django_language"] = language
    html = client.get(shop.page.url).content.decode()
    assert f'<html lang="{language}" dir="{direction}"' in html
    assert heading in html and button in html
