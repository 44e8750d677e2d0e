"""Signals for integrators. All are sent after the database transaction commits.

Every consent signal is sent with ``sender=Contact`` and these keyword arguments:

``contact``
    the :class:`~wagtail_wa_consent.models.Contact`.
``events``
    the list of :class:`~wagtail_wa_consent.models.ConsentEvent` rows just written, one per category.
"""

from django.dispatch import Signal

#: A person asked for messages (a pending double opt-in) or gave a single opt-in
#: (order updates ticked at checkout, an import).
consent_given = Signal()
#: A pending opt-in was confirmed in WhatsApp.
consent_confirmed = Signal()
#: The person declined the confirmation request.
consent_declined = Signal()
#: Consent was withdrawn (STOP, "Stop promotions", preference centre, admin).
consent_withdrawn = Signal()
#: A pending opt-in was not confirmed in time.
consent_expired = Signal()
#: A subscribed person was asked to confirm again (substantial wording change, dormant consent).
consent_reconfirmation_requested = Signal()

# --- Data-subject rights ---------------------------------------------------------------------
# Sent with ``sender=Contact`` and ``contact`` after the contact's personal data was erased.
contact_erased = Signal()
# Sent with ``sender=DataSubjectRequest`` and ``request`` when a request is received or completed.
data_request_received = Signal()
data_request_completed = Signal()

# --- Messaging -------------------------------------------------------------------------------
# Sent with ``sender=ChannelStatus``, ``status`` (the ChannelStatus row) and ``error`` (the
# WhatsAppAPIError) when a fatal API error (bad token, blocked account) halts all sending.
channel_halted = Signal()

# --- Webhooks: one signal per normalised event, sent after the delivery is processed --------
# Each is sent with ``sender`` = the event class and ``event`` = the frozen event dataclass from
# wagtail_wa_consent.webhooks.events (its ``raw`` attribute keeps Meta's original JSON).
inbound_message_received = Signal()
message_status_received = Signal()
template_status_changed = Signal()
template_category_changed = Signal()
template_quality_changed = Signal()
phone_number_quality_changed = Signal()
marketing_preference_changed = Signal()
phone_number_changed = Signal()
user_id_changed = Signal()
account_update_received = Signal()
unknown_update_received = Signal()
