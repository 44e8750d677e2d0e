"""The webhook endpoint Meta calls: GET for the verification handshake, POST for deliveries."""

from __future__ import annotations

from typing import Any

from django.db import transaction
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


# Not inside ATOMIC_REQUESTS: ingest commits its one INSERT itself, so Meta gets the 200 as soon
# as the delivery is durable.
@method_decorator([csrf_exempt, login_not_required, transaction.non_atomic_requests], name="dispatch")
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


class WebhookFastPath:
    """Optional WSGI wrapper that answers ``POST <path>`` before Django's middleware stack.

    For shops with a high webhook rate: the delivery is verified, stored and queued exactly as by
    the view, but sessions, locale, basket and other site middleware are skipped. Wrap the
    project's WSGI application: ``application = WebhookFastPath(get_wsgi_application())``.
    """

    def __init__(self, app, path: str = "/whatsapp/webhook/") -> None:
        self.app = app
        self.path = path

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != self.path or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        from django.core import signals
        from django.db import close_old_connections

        close_old_connections()
        try:
            status, reason = self._handle(environ)
        finally:
            signals.request_finished.send(sender=type(self))
        payload = reason.encode()
        start_response(
            f"{status} {_REASONS.get(status, 'OK')}",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    @staticmethod
    def _handle(environ) -> tuple[int, str]:
        from django.conf import settings

        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return 400, "invalid Content-Length"
        # The same ceiling as Django's view, checked before anything is read into memory.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return 400, "request body too large"
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        result = ingest(body, environ.get("HTTP_X_HUB_SIGNATURE_256"))
        return result.status, result.reason


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden"}
