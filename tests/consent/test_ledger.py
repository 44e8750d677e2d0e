"""The ledger is append-only and every chain detects tampering."""

from __future__ import annotations

import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.chain import verify_ledger
from wagtail_wa_consent.consent.hashing import GENESIS_HASH
from wagtail_wa_consent.consent.models import ConsentEvent, ConsentEvidence, ConsentWording
from wagtail_wa_consent.exceptions import LedgerImmutable

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(contact, web_evidence, yes_evidence):
    service.request_opt_in(contact, ["marketing", "transactional"], web_evidence)
    service.confirm(contact, yes_evidence)
    service.withdraw(contact, yes_evidence.with_changes(user_action="sent STOP"), ["marketing"])
    return list(ConsentEvent.objects.filter(contact=contact).order_by("sequence"))


def test_events_are_chained(history):
    assert [e.sequence for e in history] == [1, 2, 3, 4, 5]
    assert history[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(history):
        assert after.prev_hash == before.hash
    assert all(e.compute_hash() == e.hash for e in history)


def test_orm_cannot_change_or_delete_events(history):
    event = history[0]
    event.category = "support"
    with pytest.raises(LedgerImmutable):
        event.save()
    with pytest.raises(LedgerImmutable):
        event.delete()
    with pytest.raises(LedgerImmutable):
        ConsentEvent.objects.filter(pk=event.pk).update(category="support")
    with pytest.raises(LedgerImmutable):
        ConsentEvent.objects.all().delete()
    with pytest.raises(LedgerImmutable):
        ConsentEvent.objects.bulk_create([ConsentEvent(contact=event.contact, sequence=99)])
    with pytest.raises(LedgerImmutable):
        ConsentWording.objects.update(text="something else")
    wording = ConsentWording.objects.get()
    wording.text = "something else"
    with pytest.raises(LedgerImmutable):
        wording.save()
    assert ConsentEvent.objects.get(pk=event.pk).category == "marketing"


def test_wording_is_stored_once_and_referenced_by_hash(contact, web_evidence):
    service.request_opt_in(contact, ["marketing"], web_evidence)
    other = service.get_or_create_contact("+966501234567")
    service.request_opt_in(other, ["marketing", "support"], web_evidence)
    assert ConsentWording.objects.count() == 1
    wording = ConsentWording.objects.get()
    assert wording.text == web_evidence.wording and wording.language == "en"
    assert set(ConsentEvent.objects.values_list("wording__digest", flat=True)) == {wording.digest}


def test_personal_evidence_is_kept_apart_and_truncated(history):
    evidence = ConsentEvidence.objects.get(event=history[0])
    assert evidence.ip_address == "203.0.113.0"
    assert evidence.user_agent.startswith("Mozilla/5.0")
    assert history[0].page_url == "https://shop.example/offers/"
    assert "203.0.113" not in str(history[0].hashed_document())


def test_verify_passes_on_an_intact_ledger(history, capsys):
    report = verify_ledger()
    assert report.ok and report.events == 5 and report.chains == 1
    call_command("wa_verify_ledger")
    assert "Ledger OK: 5 events in 1 chains verified." in capsys.readouterr().out


def _raw(sql, params):
    """Tamper with the table behind the ORM's back (on PostgreSQL the trigger must be off)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending FK checks
            cursor.execute("ALTER TABLE wa_consent_consentevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE wa_consent_consentevent ENABLE TRIGGER USER")


def test_tampered_row_is_the_first_broken_link(history):
    _raw("UPDATE wa_consent_consentevent SET event_type = %s WHERE id = %s", ["withdrawn", history[3].pk])
    report = verify_ledger()
    assert not report.ok
    (link,) = report.broken
    assert (link.contact_id, link.sequence, link.event_id) == (history[3].contact_id, 4, history[3].pk)
    assert "row was changed" in link.reason
    with pytest.raises(CommandError, match="1 of 1 chains are broken"):
        call_command("wa_verify_ledger")


def test_removed_row_is_detected(history):
    _raw("DELETE FROM wa_consent_consentstate WHERE last_event_id = %s", [history[1].pk])
    _raw("DELETE FROM wa_consent_consentevidence WHERE event_id = %s", [history[1].pk])
    _raw("DELETE FROM wa_consent_consentevent WHERE id = %s", [history[1].pk])
    (link,) = verify_ledger().broken
    assert link.sequence == 3 and "sequence gap" in link.reason


def test_tampered_personal_evidence_is_detected(history):
    ConsentEvidence.objects.filter(event=history[0]).update(ip_address="198.51.100.0")
    (link,) = verify_ledger().broken
    assert link.sequence == 1 and "IP" in link.reason


def test_erasing_personal_evidence_keeps_the_chain_valid(history):
    # Erasure (Art. 17) deletes the evidence rows; the keyed digests keep the chain verifiable.
    ConsentEvidence.objects.all().delete()
    assert verify_ledger().ok


def test_one_broken_chain_does_not_hide_another_contact(history, web_evidence):
    other = service.get_or_create_contact("+79123456789")
    service.request_opt_in(other, ["support"], web_evidence)
    _raw("UPDATE wa_consent_consentevent SET source = %s WHERE id = %s", ["admin", history[0].pk])
    report = verify_ledger()
    assert report.chains == 2 and [b.contact_id for b in report.broken] == [history[0].contact_id]


def test_raw_sql_is_refused_by_postgresql_and_caught_by_verify_elsewhere(history):
    sql = "UPDATE wa_consent_consentevent SET category = 'support'"
    if connection.vendor == "postgresql":
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
        assert verify_ledger().ok
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql)
        assert [b.sequence for b in verify_ledger().broken] == [1]


def test_django_admin_shows_the_ledger_read_only(history, admin_client):
    event = history[0]
    url = f"/django-admin/wa_consent/consentevent/{event.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert admin_client.post(url, {"category": "support"}).status_code == 403
    delete_url = f"/django-admin/wa_consent/consentevent/{event.pk}/delete/"
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert admin_client.get("/django-admin/wa_consent/consentevent/add/").status_code == 403
    assert ConsentEvent.objects.get(pk=event.pk).category == "marketing"


def test_a_concurrent_first_use_of_a_wording_reuses_the_stored_row(db, monkeypatch):
    """Two opt-ins showing a new text at once: both find no row, the second insert hits the
    unique digest and must read the first one's row instead of failing the opt-in."""
    from wagtail_wa_consent.consent.ledger import store_wording
    from wagtail_wa_consent.consent.models import AppendOnlyQuerySet

    first_writer = ConsentWording(text="Yes, send me offers", language="en")
    first_writer.save()
    # The second writer looked before the first one committed: it saw nothing.
    monkeypatch.setattr(AppendOnlyQuerySet, "first", lambda self: None)
    wording = store_wording("Yes, send me offers", "en")
    assert wording.pk == first_writer.pk
    assert ConsentWording.objects.count() == 1
