"""Sphinx configuration for the wagtail-wa-consent documentation.

The version is read from ``wagtail_wa_consent/__init__.py`` with a regular expression, so
building the docs never imports Django or the package.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_INIT = (ROOT / "wagtail_wa_consent" / "__init__.py").read_text(encoding="utf-8")
_MATCH = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", _INIT, re.MULTILINE)
if _MATCH is None:
    raise RuntimeError("__version__ not found in wagtail_wa_consent/__init__.py")

project = "wagtail-wa-consent"
author = "wagtail-wa-consent developers"
copyright = "wagtail-wa-consent developers"  # noqa: A001
release = _MATCH.group(1)
version = ".".join(release.split(".")[:2])

extensions: list[str] = []
exclude_patterns = ["_build"]
language = "en"
highlight_language = "text"  # plain "::" blocks are diagrams and output

html_theme = "alabaster"
html_title = f"{project} {release}"
html_theme_options = {
    "description": "Lawful WhatsApp messaging for Wagtail + django-oscar shops",
    "fixed_sidebar": True,
}
