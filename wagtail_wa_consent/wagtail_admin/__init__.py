"""Wagtail admin screens of the app: template registry, consent ledger, contact timeline, dashboard.

Each module has one job; ``wagtail_wa_consent/wagtail_hooks.py`` wires them into Wagtail.
"""
