"""The review web page, ``/healthz`` and ``/metrics`` (`followup serve`)."""

from __future__ import annotations

from pipeline.web.app import create_app

__all__ = ["create_app"]
