"""What a retention run did, or would do: one count per rule, with contact ids (never numbers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

#: Rule keys, in the order a run applies them.
EXPIRED_OPT_INS = "expired_opt_ins"
MESSAGE_BODIES = "message_bodies"
INBOUND_MESSAGES = "inbound_messages"
WEBHOOK_BODIES = "webhook_bodies"
PENDING_OPT_INS = "pending_opt_ins"
WITHDRAWN_CONTACTS = "withdrawn_contacts"
DORMANT_CONSENTS = "dormant_consents"

RULES: dict[str, tuple[Promise, str]] = {
    # key: (what one counted item is, the setting that governs it)
    EXPIRED_OPT_INS: (_("unconfirmed opt-in requests expired"), "DOUBLE_OPT_IN_EXPIRY_DAYS"),
    MESSAGE_BODIES: (_("outbound message contents blanked"), "MESSAGE_RETENTION_DAYS"),
    INBOUND_MESSAGES: (_("inbound message texts blanked"), "INBOUND_MESSAGE_RETENTION_DAYS"),
    WEBHOOK_BODIES: (_("raw webhook bodies blanked"), "WEBHOOK_BODY_RETENTION_DAYS"),
    PENDING_OPT_INS: (_("never-confirmed contacts erased"), "PENDING_OPT_IN_RETENTION_DAYS"),
    WITHDRAWN_CONTACTS: (_("withdrawn contacts erased"), "WITHDRAWN_CONTACT_RETENTION_DAYS"),
    DORMANT_CONSENTS: (_("dormant consents"), "DORMANT_CONSENT_MONTHS"),
}


@dataclass
class RuleReport:
    """One rule's result.

    Attributes:
        key: the rule (one of :data:`RULES`).
        limit: the setting's value (days, or months for dormant consents); None: the rule is off.
        count: rows changed (or that would be): messages, deliveries, contacts, consents.
        contact_ids: contacts affected, for rules that act on contacts.
        held_contact_ids: contacts the rule would have erased but kept (an open order).
        action: what the rule did, where it has a choice ("reconfirm" / "expire").
    """

    key: str
    limit: int | None
    count: int = 0
    contact_ids: list[int] = field(default_factory=list)
    held_contact_ids: list[int] = field(default_factory=list)
    action: str = ""

    @property
    def label(self) -> str:
        return str(RULES[self.key][0])

    @property
    def setting(self) -> str:
        return RULES[self.key][1]

    @property
    def enabled(self) -> bool:
        return self.limit is not None


@dataclass
class RetentionReport:
    """The result of :func:`~wagtail_wa_consent.retention.plan` or ``apply``."""

    now: datetime
    dry_run: bool
    rules: dict[str, RuleReport] = field(default_factory=dict)

    def __getitem__(self, key: str) -> RuleReport:
        return self.rules[key]

    def counts(self) -> dict[str, int]:
        return {key: rule.count for key, rule in self.rules.items()}

    @property
    def total(self) -> int:
        return sum(self.counts().values())
