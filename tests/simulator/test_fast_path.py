"""The simulator's send endpoint behind SimulatorFastPath (as the sandbox's WSGI app serves it),
and the switch that turns its status webhooks off for the dispatch benchmark."""

from __future__ import annotations

import json

import httpx
import pytest
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings

from wagtail_wa_consent.simulator import core
from wagtail_wa_consent.simulator.models import SimMessage, SimWebhook
from wagtail_wa_consent.simulator.wsgi import SimulatorFastPath

from ..conftest import wa_settings
from .conftest import template

TOKEN = "fast-path-token"
URL = "/wa-simulator/graph/v25.0/SIMPHONE/messages"


@pytest.fixture
def client(db, monkeypatch):
    # The test's own transaction must survive the per-request connection housekeeping.
    monkeypatch.setattr("django.db.close_old_connections", lambda: None)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    inner_calls = []
    django_app = get_wsgi_application()

    def counting_app(environ, start_response):
        inner_calls.append(environ["PATH_INFO"])
        return django_app(environ, start_response)

    try:
        with (
            wa_settings(ACCESS_TOKEN=TOKEN, PHONE_NUMBER_ID="SIMPHONE"),
            override_settings(WA_SIMULATOR_ENABLED=True),
        ):
            http = httpx.Client(
                transport=httpx.WSGITransport(app=SimulatorFastPath(counting_app)),
                base_url="http://testserver",
            )
            http.inner_calls = inner_calls
            yield http
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_sends_skip_the_site_but_keep_every_check(client):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    ok = client.post(URL, content=json.dumps(template()), headers=auth)
    assert ok.status_code == 200 and ok.json()["messages"][0]["id"].startswith("wamid.")
    assert SimMessage.objects.get().wamid == ok.json()["messages"][0]["id"]  # templates seeded on first use
    refused = client.post(URL, content=json.dumps(template(params=("one",))), headers=auth)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 132000
    assert client.post(URL, content=json.dumps(template())).status_code == 401
    assert client.post(URL, content=b"{nope", headers=auth).json()["error"]["code"] == 100
    assert client.inner_calls == []  # none of it went through the site's middleware
    client.get("/wa-simulator/graph/v25.0/SIMPHONE", headers=auth)
    assert client.inner_calls == ["/wa-simulator/graph/v25.0/SIMPHONE"]


@pytest.mark.parametrize(("enabled", "owed"), [(True, 2), (False, 0)])
def test_status_webhooks_can_be_switched_off(db, enabled, owed):
    with override_settings(WA_SIMULATOR_STATUS_WEBHOOKS=enabled):
        status, _ = core.accept_message(template(), phone_number_id="SIMPHONE")
    assert status == 200 and SimMessage.objects.count() == 1
    assert SimWebhook.objects.count() == owed
