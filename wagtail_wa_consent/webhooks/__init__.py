"""Meta's webhooks: signature check, raw storage, parsing to normalised events, handlers."""
