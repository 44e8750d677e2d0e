"""WSGI entry point, e.g. ``gunicorn --chdir sandbox sandbox_site.wsgi``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.core.wsgi import get_wsgi_application

# Same path setup as manage.py, so a server started from the repo root finds the apps.
_SANDBOX_DIR = Path(__file__).resolve().parent.parent
for _path in (str(_SANDBOX_DIR.parent), str(_SANDBOX_DIR)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox_site.settings")

django_application = get_wsgi_application()  # sets Django up before the plugin is imported

from wagtail_wa_consent.simulator.wsgi import SimulatorFastPath  # noqa: E402
from wagtail_wa_consent.webhooks.views import WebhookFastPath  # noqa: E402

# Meta's webhooks skip the shop's middleware stack (see docs/whatsapp.rst, "Throughput"), and so
# do sends to the simulator's Graph API, which stands in for Meta's servers.
application = SimulatorFastPath(WebhookFastPath(django_application))
