"""POST handler of the chat bubble (placeholder until implemented)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def start(request: HttpRequest) -> HttpResponse:
    raise Http404
