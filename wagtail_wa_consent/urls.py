"""URLs of wagtail_wa_consent. Mount them with ``path("whatsapp/", include("wagtail_wa_consent.urls"))``;
the webhook is then ``/whatsapp/webhook/`` (a public interface: keep it stable)."""

from django.urls import path

from .webhooks.views import WhatsAppWebhookView

app_name = "wa_consent"

urlpatterns = [
    path("webhook/", WhatsAppWebhookView.as_view(), name="webhook"),
]
