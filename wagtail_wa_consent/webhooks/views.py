"""The webhook endpoint Meta calls: GET for the verification handshake, POST for deliveries."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from ..conf import get_setting
from .ingest import ingest

try:  # Django >= 5.1: stay reachable behind LoginRequiredMiddleware
    from django.contrib.auth.decorators import login_not_required
except ImportError:  # pragma: no cover

    def login_not_required(view):  # type: ignore[no-redef]
        return view


@method_decorator([csrf_exempt, login_not_required], name="dispatch")
class WhatsAppWebhookView(View):
    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        mode = request.GET.get("hub.mode", "")
        token = request.GET.get("hub.verify_token", "")
        expected = get_setting("VERIFY_TOKEN")
        if mode != "subscribe" or not expected or not constant_time_compare(token, expected):
            return _text(403, "verification failed: hub.mode or hub.verify_token is wrong")
        return _text(200, request.GET.get("hub.challenge", ""))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        result = ingest(request.body, request.headers.get("X-Hub-Signature-256"))
        return _text(result.status, result.reason)


def _text(status: int, body: str) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")
