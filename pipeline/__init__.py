"""followup: track the follow-up coverage of a news story."""

from __future__ import annotations

__version__ = "0.1.0"
