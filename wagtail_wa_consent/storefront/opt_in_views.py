"""POST handler of the opt-in block (placeholder until implemented)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def submit(request: HttpRequest) -> HttpResponse:
    raise Http404
