"""The simulator's Graph API: what the Cloud API backend talks to when ``GRAPH_API_URL`` points here.

With the sandbox's URLs the base URL is ``http://127.0.0.1:8000/wa-simulator/graph``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ..conf import get_setting
from . import core, webhooks
from .access import requires_simulator
from .models import SimTemplate
from .seed import ensure_seeded

#: Templates per page when the request gives no ``limit``, and the most it may ask for.
DEFAULT_LIMIT, MAX_LIMIT = 25, 1000
#: ``GET /<phone-number-id>`` without ``fields`` returns these.
DEFAULT_PHONE_FIELDS = ("verified_name", "display_phone_number", "quality_rating")
MESSAGING_LIMIT_FIELD = "whatsapp_business_manager_messaging_limit"


def _refuse(code: int, details: str, *, status: int = 400, subcode: int | None = None) -> JsonResponse:
    return JsonResponse(core.error_body(code, details, subcode=subcode), status=status)


def _unauthorised(request: HttpRequest) -> JsonResponse | None:
    """401 with code 190 unless the request carries a bearer token (the configured one, if any)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    expected = get_setting("ACCESS_TOKEN")
    if scheme.lower() == "bearer" and token and (not expected or constant_time_compare(token, expected)):
        return None
    response = _refuse(190, "Invalid OAuth 2.0 Access Token", status=401)
    response["WWW-Authenticate"] = 'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token"'
    return response


def _unknown_object(object_id: str, expected: str) -> JsonResponse | None:
    """Meta's answer for a path id that is not ours (only checked when the id is configured)."""
    if not expected or object_id == expected:
        return None
    return _refuse(
        100,
        f"Unsupported request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation.",
        subcode=33,
    )


@csrf_exempt  # an API called with a bearer token, never by a browser form
@requires_simulator
@require_POST
def messages(request: HttpRequest, version: str, phone_number_id: str) -> JsonResponse:
    """``POST /<version>/<phone-number-id>/messages``: send one message."""
    if denied := _unauthorised(request):
        return denied
    if unknown := _unknown_object(phone_number_id, get_setting("PHONE_NUMBER_ID")):
        return unknown
    try:
        payload = json.loads(request.body)
    except ValueError:
        return _refuse(100, "The request body is not valid JSON.")
    status, body = core.accept_message(payload, phone_number_id=phone_number_id)
    return JsonResponse(body, status=status)


@requires_simulator
@require_GET
def message_templates(request: HttpRequest, version: str, waba_id: str) -> JsonResponse:
    """``GET /<version>/<waba-id>/message_templates``: templates with cursor paging (``limit``, ``after``)."""
    if denied := _unauthorised(request):
        return denied
    if unknown := _unknown_object(waba_id, get_setting("BUSINESS_ACCOUNT_ID")):
        return unknown
    try:
        limit = int(request.GET.get("limit") or DEFAULT_LIMIT)
        after = _decode_cursor(request.GET["after"]) if request.GET.get("after") else 0
    except ValueError:
        return _refuse(100, "Invalid parameter: limit must be a number and after a cursor from paging.")
    if not 1 <= limit <= MAX_LIMIT:
        return _refuse(100, f"Invalid parameter: limit must be between 1 and {MAX_LIMIT}.")
    ensure_seeded()
    rows = SimTemplate.objects.filter(pk__gt=after).order_by("pk")
    if name := request.GET.get("name"):
        rows = rows.filter(name__icontains=name)
    if status := request.GET.get("status"):
        rows = rows.filter(status=status.upper())
    page = list(rows[: limit + 1])
    more, page = len(page) > limit, page[:limit]
    fields = _fields(request)
    body: dict[str, Any] = {"data": [_only(t.as_graph(), fields) for t in page]}
    if page:
        body["paging"] = {"cursors": {"before": _cursor(page[0].pk), "after": _cursor(page[-1].pk)}}
        if more:  # like Meta, "next" only when there is another page
            query = request.GET.copy()
            query["after"] = _cursor(page[-1].pk)
            body["paging"]["next"] = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    return JsonResponse(body)


@requires_simulator
@require_GET
def phone_number(request: HttpRequest, version: str, phone_number_id: str) -> JsonResponse:
    """``GET /<version>/<phone-number-id>``, e.g. ``?fields=whatsapp_business_manager_messaging_limit``."""
    if denied := _unauthorised(request):
        return denied
    if unknown := _unknown_object(phone_number_id, get_setting("PHONE_NUMBER_ID")):
        return unknown
    known = {
        "verified_name": "Simulated business",
        "display_phone_number": f"+{webhooks.DISPLAY_NUMBER}",
        "quality_rating": "GREEN",
        MESSAGING_LIMIT_FIELD: getattr(settings, "WA_SIMULATOR_TIER", "TIER_2K"),
    }
    fields = _fields(request) or set(DEFAULT_PHONE_FIELDS)
    return JsonResponse({**{k: v for k, v in known.items() if k in fields}, "id": phone_number_id})


def _fields(request: HttpRequest) -> set[str]:
    return {f.strip() for f in request.GET.get("fields", "").split(",") if f.strip()}


def _only(item: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    """Meta returns only the requested fields (and always ``id``)."""
    return {k: v for k, v in item.items() if not fields or k in fields or k == "id"}


def _cursor(pk: int) -> str:
    # Opaque like Meta's cursors, so clients cannot come to rely on their content.
    return base64.urlsafe_b64encode(f"sim:{pk}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise ValueError(cursor) from error
    prefix, _, pk = text.partition(":")
    if prefix != "sim" or not pk.isdigit():
        raise ValueError(cursor)
    return int(pk)
