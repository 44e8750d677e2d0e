"""Optional WSGI wrapper: the simulator's send endpoint without the site's middleware.

The simulator stands in for Meta's servers, which run none of the shop's middleware (sessions,
locale, basket); skipping it lets the dispatch benchmark measure the plugin rather than the
sandbox's page stack. The view and its checks (token, JSON, Meta's rules) are exactly the same.
"""

from __future__ import annotations

import re

from . import urls

_MESSAGES = re.compile(rf"^graph/{urls._VERSION}/(?P<phone_number_id>{urls._ID})/messages$")


class SimulatorFastPath:
    """Wrap a WSGI application: ``POST <prefix>graph/<version>/<id>/messages`` goes straight to the
    simulator's view; every other request goes to ``app``.

    Args:
        app: The project's WSGI application.
        prefix: Where the simulator's URLs are mounted (the sandbox's ``/wa-simulator/``).
    """

    def __init__(self, app, prefix: str = "/wa-simulator/") -> None:
        self.app = app
        self.prefix = prefix

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        match = None
        if environ.get("REQUEST_METHOD") == "POST" and path.startswith(self.prefix):
            match = _MESSAGES.match(path[len(self.prefix) :])
        if match is None:
            return self.app(environ, start_response)
        from django.core import signals
        from django.core.handlers.wsgi import WSGIRequest

        from .graph_views import messages

        signals.request_started.send(sender=type(self), environ=environ)  # closes stale connections
        try:
            response = messages(WSGIRequest(environ), **match.groupdict())
            content = response.content
        finally:
            signals.request_finished.send(sender=type(self))
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return [content]
