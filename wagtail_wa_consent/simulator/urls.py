"""URLs of the simulator; the sandbox mounts them at ``/wa-simulator/``.

- ``graph/<version>/<phone-number-id>/messages`` (POST), ``graph/<version>/<waba-id>/message_templates``
  and ``graph/<version>/<phone-number-id>`` (GET): the Graph API stand-in.
- ``phone/``: every simulated phone; ``phone/<digits>/``: one chat; ``phone/<digits>/act/``: its actions.
"""

from __future__ import annotations

from django.urls import path, re_path

from . import graph_views, phone_views

app_name = "wa_simulator"

_VERSION = r"(?P<version>v\d+\.\d+)"
_ID = r"[\w.-]+"
_DIGITS = r"(?P<digits>\d{7,15})"

urlpatterns = [
    re_path(
        rf"^graph/{_VERSION}/(?P<phone_number_id>{_ID})/messages$",
        graph_views.messages,
        name="graph_messages",
    ),
    re_path(
        rf"^graph/{_VERSION}/(?P<waba_id>{_ID})/message_templates$",
        graph_views.message_templates,
        name="graph_templates",
    ),
    re_path(rf"^graph/{_VERSION}/(?P<phone_number_id>{_ID})$", graph_views.phone_number, name="graph_phone"),
    path("phone/", phone_views.phone_list, name="phones"),
    re_path(rf"^phone/{_DIGITS}/$", phone_views.chat, name="chat"),
    re_path(rf"^phone/{_DIGITS}/act/$", phone_views.act, name="act"),
]
