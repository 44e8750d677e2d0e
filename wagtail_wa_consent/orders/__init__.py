"""Oscar order events sent as approved WhatsApp templates (install ``wagtail_wa_consent.orders``)."""
