"""The Graph API (WhatsApp Cloud API) client and Meta's error codes."""
