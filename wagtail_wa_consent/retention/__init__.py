"""Retention: remove what is no longer needed, on the periods the settings state.

:func:`plan` reports what :func:`apply` would do; ``apply`` runs from the daily Celery task
``wagtail_wa_consent.apply_retention`` and the ``wa_retention`` management command.
"""

from __future__ import annotations

from .report import RULES, RetentionReport, RuleReport
from .run import apply, plan
from .wording import reconfirmation_wording

__all__ = ["RULES", "RetentionReport", "RuleReport", "apply", "plan", "reconfirmation_wording"]
