"""The rule editor in the Wagtail admin: a snippet with a live preview of the rendered template."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, ObjectList
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from .forms import MAX_PARAMETERS, NotificationRuleForm
from .models import NotificationRule


class NotificationRuleViewSet(SnippetViewSet):
    model = NotificationRule
    icon = "mail"
    menu_label = _("WhatsApp order notifications")
    menu_name = "wa-order-notifications"
    add_to_admin_menu = True
    menu_order = 860
    list_display = ["event", "match", "template_name", "language", "template_status", "enabled"]
    list_filter = ["event", "enabled"]
    edit_handler = ObjectList(
        [
            FieldRowPanel([FieldPanel("event"), FieldPanel("match")]),
            FieldPanel("template"),
            MultiFieldPanel(
                [FieldPanel(f"parameter_{i}") for i in range(1, MAX_PARAMETERS + 1)],
                heading=_("Parameters: order fields in the template's order"),
            ),
            FieldPanel("tracking_url"),
            FieldPanel("enabled"),
        ],
        base_form_class=NotificationRuleForm,
    )


register_snippet(NotificationRuleViewSet)
