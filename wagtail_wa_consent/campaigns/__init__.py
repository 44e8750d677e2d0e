"""Marketing campaigns to consenting contacts (install ``wagtail_wa_consent.campaigns``)."""
