"""URLs of wagtail_wa_consent. Mount them with ``path("whatsapp/", include("wagtail_wa_consent.urls"))``;
the webhook is then ``/whatsapp/webhook/`` (a public interface: keep it stable)."""

from django.urls import path

from .storefront import bubble_views, opt_in_views
from .webhooks.views import WhatsAppWebhookView

app_name = "wa_consent"

urlpatterns = [
    path("webhook/", WhatsAppWebhookView.as_view(), name="webhook"),
    path("opt-in/", opt_in_views.submit, name="opt_in"),
    path("bubble/", bubble_views.start, name="bubble"),
]
