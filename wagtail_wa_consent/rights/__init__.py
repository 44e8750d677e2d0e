"""Data-subject rights (GDPR Art. 15-20): the request queue, evidence packs and number changes."""
