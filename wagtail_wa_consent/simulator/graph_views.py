"""The simulator's Graph API endpoints, for the Cloud API backend pointed at GRAPH_API_URL."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ..conf import get_setting
from . import core
from .access import requires_simulator
from .models import SimTemplate
from .seed import ensure_seeded


def _unauthorised(request: HttpRequest) -> JsonResponse | None:
    header = request.headers.get("Authorization", "")
    expected = get_setting("ACCESS_TOKEN")
    token = header.removeprefix("Bearer ").strip()
    if (
        not header.startswith("Bearer ")
        or not token
        or (expected and not constant_time_compare(token, expected))
    ):
        body = core.error_body(190, "Invalid OAuth access token - Cannot parse access token")
        return JsonResponse(body, status=401)
    return None


@csrf_exempt
@require_POST
@requires_simulator
def messages(request: HttpRequest, version: str, phone_number_id: str) -> JsonResponse:
    if denied := _unauthorised(request):
        return denied
    ensure_seeded()
    try:
        payload = json.loads(request.body)
    except ValueError:
        return JsonResponse(core.error_body(100, "The request body is not JSON."), status=400)
    if not isinstance(payload, dict) or payload.get("messaging_product") != "whatsapp":
        return JsonResponse(core.error_body(100, "messaging_product must be 'whatsapp'."), status=400)
    status, body = core.accept_message(payload)
    return JsonResponse(body, status=status)


@require_GET
@requires_simulator
def message_templates(request: HttpRequest, version: str, waba_id: str) -> JsonResponse:
    if denied := _unauthorised(request):
        return denied
    ensure_seeded()
    limit = max(1, min(int(request.GET.get("limit") or 25), 100))
    start = int(request.GET.get("after") or 0)
    rows = list(SimTemplate.objects.order_by("pk").filter(pk__gt=start)[: limit + 1])
    page, more = rows[:limit], len(rows) > limit
    data = [
        {
            "name": t.name,
            "language": t.language,
            "category": t.category,
            "status": t.status,
            "components": t.components,
            "id": t.meta_id,
            "quality_score": {"score": "GREEN"},
        }
        for t in page
    ]
    paging: dict = {
        "cursors": {"before": str(page[0].pk) if page else "", "after": str(page[-1].pk) if page else ""}
    }
    if more:
        paging["next"] = request.build_absolute_uri(f"?limit={limit}&after={page[-1].pk}")
    return JsonResponse({"data": data, "paging": paging})


@require_GET
@requires_simulator
def phone_number(request: HttpRequest, version: str, phone_number_id: str) -> JsonResponse:
    if denied := _unauthorised(request):
        return denied
    tier = getattr(settings, "WA_SIMULATOR_TIER", "TIER_2K")
    return JsonResponse({"whatsapp_business_manager_messaging_limit": tier, "id": phone_number_id})
