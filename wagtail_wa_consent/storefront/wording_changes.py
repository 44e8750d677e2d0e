"""Substantial changes of an opt-in block's wording, and asking its consenters to confirm again.

Every web opt-in records its block as the evidence ``reference`` (``block:<page>:<block id>``).
When a page is published with an opt-in block whose editor ticked "This change is substantial"
and whose text differs from the previously published version, every wording that block showed
before is recorded as superseded (``WordingSupersession``). People whose standing consent rests on
a superseded wording can then be asked to confirm again; minor edits (box unticked) record nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.dispatch import receiver
from django.utils import timezone, translation
from wagtail.fields import StreamField
from wagtail.models import Page, PageLogEntry, Revision
from wagtail.signals import page_published

from ..consent.enums import Source, Status
from ..consent.evidence import Evidence
from ..consent.models import ConsentEvent, ConsentState, ConsentWording, Contact, WordingSupersession

logger = logging.getLogger("wagtail_wa_consent.storefront")

#: The editor's values that make up the wording (the flag itself is not one of them).
WORDING_FIELDS = ("heading", "intro", "categories", "button_label")


def block_reference(page_id: int, block_id: str) -> str:
    return f"block:{page_id}:{block_id}"


def opt_in_blocks(page: Page) -> Iterator[tuple[str, Any]]:
    """(outer block id, value) of every opt-in block on ``page``."""
    from .blocks import _opt_in_values

    for model_field in page._meta.get_fields():
        if isinstance(model_field, StreamField):
            for block_id, value in _opt_in_values(
                model_field.stream_block, getattr(page, model_field.name), None
            ):
                if block_id:
                    yield block_id, value


def _editor_values(value: Any) -> tuple[Any, ...]:
    return tuple(
        sorted(value.get(name) or []) if name == "categories" else (value.get(name) or "").strip()
        for name in WORDING_FIELDS
    )


def _previous_live_page(page: Page, revision: Revision) -> Page | None:
    """The page as it was published before ``revision`` (None on its first publication)."""
    entry = (
        PageLogEntry.objects.filter(page=page, action="wagtail.publish", revision__isnull=False)
        .exclude(revision=revision)
        .order_by("-timestamp", "-pk")
        .select_related("revision")
        .first()
    )
    return entry.revision.as_object() if entry else None


def supersede_changed_blocks(page: Page, revision: Revision) -> list[WordingSupersession]:
    """Record the wordings superseded by a substantial change published in ``revision``."""
    flagged = {block_id: value for block_id, value in opt_in_blocks(page) if value.get("substantial_change")}
    if not flagged:
        return []
    previous = _previous_live_page(page, revision)
    before = dict(opt_in_blocks(previous)) if previous is not None else {}
    now = timezone.now()
    created = []
    for block_id, value in flagged.items():
        old = before.get(block_id)
        if old is None or _editor_values(old) == _editor_values(value):
            continue  # new block, or the flag was left ticked on an unchanged text
        wordings = ConsentWording.objects.filter(
            events__reference=block_reference(page.pk, block_id)
        ).exclude(supersession__isnull=False)
        for wording in wordings.distinct():
            created.append(
                WordingSupersession.objects.create(
                    wording=wording,
                    superseded_at=now,
                    page=page,
                    block_id=block_id,
                    changed_by=revision.user,
                )
            )
    if created:
        logger.info("page %s: %d consent wording(s) superseded", page.pk, len(created))
    return created


@receiver(page_published)
def _on_page_published(sender: type, instance: Page, revision: Revision, **kwargs: Any) -> None:
    supersede_changed_blocks(instance, revision)


# --- Who is affected, and asking them ------------------------------------------------------


def affected_states(supersessions: QuerySet[WordingSupersession]) -> QuerySet[ConsentState]:
    """Subscribed categories whose latest wording shown is one of ``supersessions``' wordings.

    A double opt-in's wording sits on its request event (the Yes in WhatsApp has none), so the
    latest event with a wording is the text the standing consent was given to.
    """
    latest_wording = (
        ConsentEvent.objects.filter(
            contact=OuterRef("contact"), category=OuterRef("category"), wording__isnull=False
        )
        .order_by("-sequence")
        .values("wording")[:1]
    )
    return (
        ConsentState.objects.filter(status=Status.SUBSCRIBED, contact__erased_at__isnull=True)
        .annotate(consented_wording=Subquery(latest_wording))
        .filter(consented_wording__in=supersessions.values("wording"))
    )


def current_wording(page: Page, block_id: str, language: str) -> tuple[str, str]:
    """The block's wording as the live page shows it now in ``language``: (text, page URL)."""
    # Imported here: django.test is not needed at start-up, where this module is loaded
    # (opt-in view, page_published receiver). The request only names the page's site.
    from django.test import RequestFactory

    from .blocks import build_wording, find_opt_in_block

    live = page.specific
    value = find_opt_in_block(live, block_id)
    if value is None:
        return "", ""
    site = live.get_site()
    request = RequestFactory().get(
        live.url_path, HTTP_HOST=site.hostname if site else "localhost", SERVER_PORT=site.port if site else 80
    )
    with translation.override(language):
        return build_wording(value, request).text, live.get_full_url(request) or ""


def request_reconfirmations(supersession_ids: list[int], user_id: int | None) -> int:
    """Ask everyone whose consent rests on these superseded wordings to confirm the current one.

    Each contact gets one Yes / No question for all its affected categories, with the live
    block's wording in the language of the wording they consented to. Returns the contacts asked.
    """
    from ..messaging.double_opt_in import request_reconfirmation

    supersessions = WordingSupersession.objects.filter(pk__in=supersession_ids).select_related(
        "page", "wording"
    )
    by_wording = {s.wording_id: s for s in supersessions}
    grouped: dict[int, tuple[Contact, WordingSupersession, list[str]]] = {}
    states = affected_states(supersessions).select_related("contact").order_by("contact_id", "category")
    for state in states:
        entry = grouped.setdefault(state.contact_id, (state.contact, by_wording[state.consented_wording], []))
        entry[2].append(state.category)
    texts: dict[tuple[int, str], tuple[str, str]] = {}
    asked = 0
    for contact, supersession, categories in grouped.values():
        if supersession.page is None:
            continue  # the page was deleted: there is no current text to agree to
        language = supersession.wording.language or contact.language or settings.LANGUAGE_CODE
        key = (supersession.pk, language)
        if key not in texts:
            texts[key] = current_wording(supersession.page, supersession.block_id, language)
        text, url = texts[key]
        if not text:
            continue  # the block is gone from the live page
        evidence = Evidence(
            source=Source.ADMIN if user_id else Source.SYSTEM,
            actor=f"admin:{user_id}" if user_id else "system",
            wording=text,
            language=language,
            page_url=url,
            reference=block_reference(supersession.page_id, supersession.block_id),
        )
        events, _message = request_reconfirmation(contact, categories, evidence)
        asked += bool(events)
    supersessions.update(reconfirm_requested_at=timezone.now())
    logger.info("re-confirmation asked of %d contact(s)", asked)
    return asked
