"""The template registry: read-only list with statuses, and "Sync now" against a faked Graph API."""

from __future__ import annotations

import re

import httpx
import pytest
from django.urls import reverse

from wagtail_wa_consent.graph.client import GraphAPIClient
from wagtail_wa_consent.messaging.models import ChannelStatus, MessageTemplate

from ..conftest import wa_settings
from ..messaging.helpers import template
from . import CHANGE_TEMPLATES, VIEW_TEMPLATES, admin_user

pytestmark = pytest.mark.django_db

LIST = "wa_consent_admin:templates"
SYNC = "wa_consent_admin:templates_sync"

#: Meta's template list as GET /<WABA>/message_templates returns it (CLOUD-API.md).
META_TEMPLATES = {
    "data": [
        {
            "id": "111",
            "name": "order_shipped",
            "language": "de",
            "category": "UTILITY",
            "status": "APPROVED",
            "quality_score": {"score": "GREEN"},
            "components": [{"type": "BODY", "text": "Hallo {{1}}, Bestellung {{2}} ist unterwegs."}],
        },
        {
            "id": "222",
            "name": "spring_sale",
            "language": "en",
            "category": "MARKETING",
            "status": "PAUSED",
            "components": [
                {"type": "BODY", "text": "Hi {{1}}, 20% off"},
                {"type": "FOOTER", "text": "Not interested? Tap Stop promotions"},
            ],
        },
    ],
    "paging": {"cursors": {"before": "a", "after": "b"}},
}


class FakeGraph:
    """An httpx.MockTransport handler playing Meta; ``answer`` (a response or an error) overrides it."""

    def __init__(self) -> None:
        self.answer: httpx.Response | Exception | None = None
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        if self.answer is not None:
            return self.answer
        if request.url.path.endswith("/message_templates"):
            return httpx.Response(200, json=META_TEMPLATES)
        return httpx.Response(200, json={"whatsapp_business_manager_messaging_limit": "TIER_10K"})


@pytest.fixture
def graph(monkeypatch) -> FakeGraph:
    """sync_templates() builds its client from settings: give that client the fake transport."""
    fake = FakeGraph()
    real = GraphAPIClient.from_settings.__func__

    def from_settings(cls, **overrides):
        options = {
            "access_token": "test-token",
            "business_account_id": "WABA1",
            "phone_number_id": "PN1",
            "transport": httpx.MockTransport(fake),
            "sleep": lambda seconds: None,
            **overrides,
        }
        return real(cls, **options)

    monkeypatch.setattr(GraphAPIClient, "from_settings", classmethod(from_settings))
    return fake


def test_list_shows_templates_with_their_status(client):
    template("order_shipped", "UTILITY", params=2)
    template("spring_sale", "MARKETING", status="PAUSED", opt_out=True)
    client.force_login(admin_user(VIEW_TEMPLATES))
    response = client.get(reverse(LIST))
    assert response.status_code == 200
    html = response.content.decode()
    assert "order_shipped" in html and "spring_sale" in html
    assert "APPROVED" in html and "PAUSED" in html
    # Approved templates stand out as primary status tags, the others do not.
    assert re.search(r'w-status--primary">\s*APPROVED', html)
    assert not re.search(r'w-status--primary">\s*PAUSED', html)
    assert "Utility" in html and "Marketing" in html


def test_view_only_users_get_no_sync_button(client):
    client.force_login(admin_user(VIEW_TEMPLATES))
    html = client.get(reverse(LIST)).content.decode()
    assert reverse(SYNC) not in html and "Sync now" not in html

    client.force_login(admin_user(CHANGE_TEMPLATES))
    html = client.get(reverse(LIST)).content.decode()
    assert reverse(SYNC) in html and "Sync now" in html


def test_sync_needs_the_change_permission(client, graph):
    client.force_login(admin_user(VIEW_TEMPLATES))
    response = client.post(reverse(SYNC))
    assert response.status_code == 302 and response.url == reverse("wagtailadmin_home")
    assert graph.requests == [] and not MessageTemplate.objects.exists()


def test_sync_is_post_only(client, graph):
    client.force_login(admin_user(CHANGE_TEMPLATES))
    assert client.get(reverse(SYNC)).status_code == 405
    assert graph.requests == []


def test_sync_now_copies_metas_list_and_reports_the_count(client, graph):
    old = template("retired_template")
    client.force_login(admin_user(CHANGE_TEMPLATES))
    response = client.post(reverse(SYNC), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse(LIST)
    assert "Synced 2 templates from WhatsApp." in response.content.decode()
    shipped = MessageTemplate.objects.get(name="order_shipped", language="de")
    assert shipped.status == "APPROVED" and shipped.parameter_count == 2 and shipped.quality_score == "GREEN"
    assert MessageTemplate.objects.get(name="spring_sale").has_opt_out
    old.refresh_from_db()
    assert old.status == "DELETED"
    assert ChannelStatus.load().messaging_limit_tier == "TIER_10K"
    # The list now shows what Meta said.
    html = response.content.decode()
    assert "order_shipped" in html and "PAUSED" in html and "TIER_10K" in html


def test_a_graph_error_is_shown_as_an_error_message(client, graph):
    graph.answer = httpx.Response(
        401,
        json={
            "error": {
                "message": "Error validating access token: Session has expired",
                "type": "OAuthException",
                "code": 190,
                "fbtrace_id": "AbCtrace",
            }
        },
    )
    kept = template("order_shipped")
    client.force_login(admin_user(CHANGE_TEMPLATES))
    response = client.post(reverse(SYNC), follow=True)
    assert response.status_code == 200  # never a 500
    html = response.content.decode()
    assert "Meta did not return the template list." in html
    assert "190" in html and "AbCtrace" in html
    assert "Synced" not in html
    kept.refresh_from_db()
    assert kept.status == "APPROVED"  # nothing half-written


def test_an_unreachable_graph_api_is_shown_as_an_error_message(client, graph):
    graph.answer = httpx.ConnectError("connection refused")
    client.force_login(admin_user(CHANGE_TEMPLATES))
    response = client.post(reverse(SYNC), follow=True)
    assert response.status_code == 200
    assert "Meta did not return the template list." in response.content.decode()


def test_missing_configuration_is_shown_as_an_error_message(client):
    client.force_login(admin_user(CHANGE_TEMPLATES))
    with wa_settings(ACCESS_TOKEN=""):
        response = client.post(reverse(SYNC), follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "WhatsApp is not configured" in html and "ACCESS_TOKEN" in html
