"""Template tags of wagtail_wa_consent: ``{% load wa_bubble %}`` for the chat bubble."""
