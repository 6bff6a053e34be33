"""``python -m desktop`` runs the same command as ``draftsmith``."""

from __future__ import annotations

import sys

from desktop.cli import main

sys.exit(main())
