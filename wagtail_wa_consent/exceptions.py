"""Exceptions raised by wagtail_wa_consent, mapped onto Django's own where one fits."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured, ValidationError


class WaConsentError(Exception):
    """Base class for every error this app raises on purpose."""


class WaConsentConfigurationError(WaConsentError, ImproperlyConfigured):
    """A WAGTAIL_WA_CONSENT setting is missing or wrong."""


class InvalidPhoneNumber(WaConsentError, ValidationError):
    """A phone number could not be turned into a WhatsApp-capable E.164 number."""

    def __init__(self, message: str, code: str) -> None:
        ValidationError.__init__(self, message, code=code)


class ConsentTransitionError(WaConsentError):
    """The requested consent change is not allowed from the contact's current state."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class MissingEvidence(WaConsentError):
    """A consent change was attempted without the evidence the ledger needs to prove it."""


class LedgerImmutable(WaConsentError):
    """Someone tried to change or delete a row of the append-only consent ledger."""
