"""Facts about this build that licensing needs. The release process sets ``RELEASE_DATE``."""

from __future__ import annotations

import datetime as dt

# A license covers builds released on or before its ``updates_until`` date.
RELEASE_DATE = dt.date(2026, 11, 29)
