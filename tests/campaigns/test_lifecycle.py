"""Queue-and-send, pause, resume, cancel, the report, and the admin views."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from wagtail_wa_consent.campaigns import service
from wagtail_wa_consent.campaigns.models import Campaign
from wagtail_wa_consent.campaigns.tasks import queue_campaign, start_due_campaigns
from wagtail_wa_consent.consent import service as consent
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.messaging.backends import locmem
from wagtail_wa_consent.messaging.dispatcher import dispatch_due

from ..conftest import wa_settings
from .helpers import campaign, consenting, marketing_template, phones

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_quiet_hours():
    with wa_settings(CAMPAIGN_QUIET_HOURS=None, MESSAGING_LIMIT_TIER="TIER_10K"):
        yield


STOP = Evidence(source="whatsapp", user_action="sent STOP", message_id="wamid.stop")


def statuses(c: Campaign) -> list[str]:
    return sorted(service.campaign_messages(c).values_list("status", flat=True))


def test_task_queues_and_dispatches():
    for phone in phones(3):
        consenting(phone, "marketing")
    c = campaign()
    assert queue_campaign.delay(c.pk).get() == 3
    assert statuses(c) == ["sent"] * 3
    assert len(locmem.outbox) == 3
    assert service.refresh_status(Campaign.objects.get(pk=c.pk)).status == "done"


def test_stop_after_queueing_wins_at_dispatch():
    a, b = (consenting(p, "marketing") for p in phones(2))
    c = service.queue(campaign().pk)
    consent.withdraw(b, STOP, ["marketing"])
    dispatch_due()
    got = dict(service.campaign_messages(c).values_list("contact_id", "status"))
    assert got == {a.pk: "sent", b.pk: "denied"}


def test_start_schedules_or_queues(django_capture_on_commit_callbacks):
    consenting(phones(1)[0], "marketing")
    later = campaign(status="draft", send_at=timezone.now() + timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        service.start(later)
    assert later.status == "scheduled" and statuses(later) == []
    assert start_due_campaigns.delay().get() == 0

    now = campaign(status="draft")
    with django_capture_on_commit_callbacks(execute=True):
        service.start(now)
    assert statuses(now) == ["sent"]


def test_pause_resume(django_capture_on_commit_callbacks):
    for phone in phones(3):
        consenting(phone, "marketing")
    c = service.queue(campaign().pk)
    assert service.pause(c) == 3
    assert c.status == "paused"
    dispatch_due()
    assert statuses(c) == ["queued"] * 3 and locmem.outbox == []
    assert (
        service.campaign_messages(c).filter(next_attempt_at__gt=timezone.now() + timedelta(days=3650)).count()
        == 3
    )
    with pytest.raises(service.CampaignStateError):
        service.pause(c)

    with django_capture_on_commit_callbacks(execute=True):
        assert service.resume(c) == 3
    assert c.status == "sending"
    assert statuses(c) == ["sent"] * 3


def test_resume_keeps_future_slots():
    consenting(phones(1)[0], "marketing")
    later = timezone.now() + timedelta(days=2)
    c = service.queue(campaign(send_at=later).pk)
    service.pause(c)
    service.resume(c)
    assert list(service.campaign_messages(c).values_list("next_attempt_at", flat=True)) == [later]


def test_cancel_denies_queued_rows():
    for phone in phones(3):
        consenting(phone, "marketing")
    c = service.queue(campaign().pk)
    dispatch_due(limit=1)
    assert service.cancel(c) == 2
    assert statuses(c) == ["denied", "denied", "sent"]
    assert set(service.campaign_messages(c).filter(status="denied").values_list("reason", flat=True)) == {
        "campaign_cancelled"
    }
    assert c.status == "cancelled"
    with pytest.raises(service.CampaignStateError):
        service.cancel(c)
    assert queue_campaign.delay(c.pk).get() == 0  # a cancelled campaign is never queued again


def test_report_counts():
    contacts = [consenting(p, "marketing") for p in phones(6)]
    c = service.queue(campaign().pk)
    dispatch_due()
    rows = service.campaign_messages(c)
    rows.filter(contact=contacts[0]).update(status="delivered")
    rows.filter(contact=contacts[1]).update(status="read")
    rows.filter(contact=contacts[2]).update(status="failed", reason="permanent", error_code=131026)
    rows.filter(contact=contacts[3]).update(status="failed", reason="permanent", error_code=131026)
    rows.filter(contact=contacts[4]).update(status="denied", reason="withdrawn")
    consent.withdraw(contacts[1], STOP, ["marketing"])
    outsider = consenting(phones(1, start=90)[0], "marketing")
    consent.withdraw(outsider, STOP, ["marketing"])  # not in the audience

    r = service.report(Campaign.objects.get(pk=c.pk))
    assert (r.total, r.sent, r.delivered, r.read, r.failed, r.denied) == (6, 3, 2, 1, 2, 1)
    assert r.failed_by_reason == {"permanent (131026)": 2}
    assert r.denied_by_reason == {"withdrawn": 1}
    assert r.opt_outs == 1
    assert r.finished == 6 and r.percent == 100


# --- admin ------------------------------------------------------------------------------------


def test_admin_views_for_superuser(admin_client):
    consenting(phones(1)[0], "marketing")
    c = service.queue(campaign().pk)
    dispatch_due()
    assert admin_client.get(reverse("wa_campaigns:index")).status_code == 200
    assert admin_client.get(reverse("wa_campaigns:add")).status_code == 200
    page = admin_client.get(reverse("wa_campaigns:report", args=(c.pk,)))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<progress id="wa-campaign-progress" max="1" value="1"' in html
    assert 'data-wa-report="sent">1<' in html
    # a started campaign is not editable
    assert admin_client.get(reverse("wa_campaigns:edit", args=(c.pk,))).status_code == 302


def test_admin_create_refuses_template_without_opt_out(admin_client):
    bad = marketing_template("no_footer", opt_out=False)
    response = admin_client.post(
        reverse("wa_campaigns:add"), {"name": "Sale", "template": bad.pk, "parameters": "Lena"}
    )
    assert response.status_code == 200
    assert "has no opt-out" in response.content.decode()
    assert not Campaign.objects.exists()

    good = marketing_template("with_footer")
    response = admin_client.post(
        reverse("wa_campaigns:add"), {"name": "Sale", "template": good.pk, "parameters": "Lena"}
    )
    assert response.status_code == 302
    created = Campaign.objects.get()
    assert created.status == "draft"
    assert admin_client.get(reverse("wa_campaigns:edit", args=(created.pk,))).status_code == 200


def test_admin_actions_post_only(admin_client, django_capture_on_commit_callbacks):
    for phone in phones(2):
        consenting(phone, "marketing")
    c = campaign(status="draft")
    url = reverse("wa_campaigns:action", args=(c.pk, "start"))
    assert admin_client.get(url).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(url).status_code == 302
    c.refresh_from_db()
    assert c.status in ("sending", "done") and statuses(c) == ["sent", "sent"]
    assert admin_client.post(reverse("wa_campaigns:action", args=(c.pk, "pause"))).status_code == 302
    assert admin_client.post(reverse("wa_campaigns:action", args=(c.pk, "nonsense"))).status_code == 404


def test_admin_report_forbidden_without_permission(client, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("editor", "e@example.com", "pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    c = campaign()
    assert client.get(reverse("wa_campaigns:report", args=(c.pk,))).status_code in (302, 403)
    assert client.post(reverse("wa_campaigns:action", args=(c.pk, "cancel"))).status_code in (302, 403)
    c.refresh_from_db()
    assert c.status == "scheduled"


def test_pause_while_queueing_stops_and_resume_finishes(monkeypatch, django_capture_on_commit_callbacks):
    for phone in phones(5):
        consenting(phone, "marketing")
    c = campaign()
    write = service._write

    def write_then_pause(campaign_, prototype, rows):
        write(campaign_, prototype, rows)
        if campaign_.status == "scheduled" and not campaign_.paused_at:
            service.pause(Campaign.objects.get(pk=c.pk))

    monkeypatch.setattr(service, "_write", write_then_pause)
    with wa_settings(CAMPAIGN_QUIET_HOURS=None, CAMPAIGN_CHUNK_SIZE=2):
        stopped = service.queue(c.pk)
    assert stopped.status == "paused" and stopped.queued_at is None
    assert statuses(c) == ["queued", "queued"]
    assert set(service.campaign_messages(c).values_list("reason", flat=True)) == {"campaign_paused"}

    monkeypatch.setattr(service, "_write", write)
    with django_capture_on_commit_callbacks(execute=True):
        service.resume(stopped)
    assert statuses(c) == ["sent"] * 5


def test_cancel_while_queueing_denies_written_rows(monkeypatch):
    for phone in phones(5):
        consenting(phone, "marketing")
    c = campaign()
    write = service._write

    def write_then_cancel(campaign_, prototype, rows):
        write(campaign_, prototype, rows)
        Campaign.objects.filter(pk=c.pk).update(status="cancelled")

    monkeypatch.setattr(service, "_write", write_then_cancel)
    with wa_settings(CAMPAIGN_QUIET_HOURS=None, CAMPAIGN_CHUNK_SIZE=2):
        service.queue(c.pk)
    assert statuses(c) == ["denied", "denied"]
