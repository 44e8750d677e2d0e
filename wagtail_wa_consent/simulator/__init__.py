"""A local stand-in for Meta's WhatsApp Cloud API, for the sandbox and tests. Never for production.

Install ``"wagtail_wa_consent.simulator"`` and include ``wagtail_wa_consent.simulator.urls``; its
pages and Graph API answer only when ``DEBUG`` or ``WA_SIMULATOR_ENABLED`` is true.
"""
