#!/usr/bin/env python
"""Django's command-line utility for the sandbox shop.

Works from anywhere, e.g. ``python sandbox/manage.py runserver`` from the repo root.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SANDBOX_DIR = Path(__file__).resolve().parent
REPO_ROOT = SANDBOX_DIR.parent


def main() -> None:
    # The sandbox apps (sandbox_site, home) live here; the plugin lives in the repo root,
    # which lets the sandbox run from a checkout even before `pip install -e .`.
    for path in (str(REPO_ROOT), str(SANDBOX_DIR)):
        if path not in sys.path:
            sys.path.insert(0, path)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
