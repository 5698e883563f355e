"""followup: track the follow-up coverage of a news story."""

from __future__ import annotations

__version__ = "0.1.0"

import sys
from types import ModuleType

# Two libraries import extras followup never uses whenever pygments (and rich) are installed:
# httpx its command-line client (rich and pygments: ~30 ms and ~10 MB in every process that
# fetches), and Mako, under alembic, syntax highlighting for its error pages (pygments: ~55 ms
# when a database is migrated). An empty module in their place makes each library's own
# fallback for a missing extra apply.
for _extra in ("httpx._main", "mako.ext.pygmentplugin"):
    sys.modules.setdefault(_extra, ModuleType(_extra))
