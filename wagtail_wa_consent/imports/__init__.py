"""Import of existing WhatsApp opt-ins from a CSV file (with a dry run and a per-row report)."""
