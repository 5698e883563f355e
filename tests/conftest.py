"""Shared fixtures. Servers live in their own modules and are registered here."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures_feeds",
    "tests.fixtures_delivery",
    "tests.fixtures_db",
]
