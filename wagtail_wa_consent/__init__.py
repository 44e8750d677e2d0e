"""WhatsApp consent, double opt-in and messaging for Wagtail + django-oscar shops."""

__version__ = "0.1.0"
