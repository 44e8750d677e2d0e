"""The suppression list: keyed digests of numbers that must not be added back by anyone but
their owner (after erasure, GDPR Art. 17, or at the person's request).

An entry blocks imports and admin re-adds of the number; it is lifted only by the person's own
fresh opt-in (a web form, the chat bubble, a checkout box), never by an import.
"""

from __future__ import annotations

from django.utils import timezone

from ..phone import normalise_phone
from . import hashing
from .models import SuppressionEntry


def is_suppressed(phone: str, *, region: str | None = None) -> bool:
    digest = hashing.phone_digest(normalise_phone(phone, region))
    return SuppressionEntry.objects.filter(phone_digest=digest, lifted_at__isnull=True).exists()


def suppressed_digests(digests: list[str]) -> set[str]:
    """Which of ``digests`` are on the list, in one query (imports check a whole file)."""
    return set(
        SuppressionEntry.objects.filter(phone_digest__in=digests, lifted_at__isnull=True).values_list(
            "phone_digest", flat=True
        )
    )


def suppress(phone_digest: str, reason: str) -> SuppressionEntry:
    """Put a number's digest on the list (again); the reason is one of SuppressionEntry.Reason."""
    entry, _created = SuppressionEntry.objects.update_or_create(
        phone_digest=phone_digest,
        defaults={"reason": reason, "created_at": timezone.now(), "lifted_at": None},
    )
    return entry


def lift(phone_digest: str) -> bool:
    """The person opted in again themselves: the number may be used again. True if it was listed."""
    return bool(
        SuppressionEntry.objects.filter(phone_digest=phone_digest, lifted_at__isnull=True).update(
            lifted_at=timezone.now()
        )
    )
