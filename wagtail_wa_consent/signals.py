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
