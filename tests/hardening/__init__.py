"""Hardening: no personal data in logs, fuzzed webhooks and forms, admin permissions, concurrency."""
