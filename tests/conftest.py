"""Shared fixtures. Servers live in their own modules and are registered here."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

pytest_plugins = [
    "tests.fixtures_feeds",
    "tests.fixtures_delivery",
    "tests.fixtures_db",
    "tests.fixtures_web",
]


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def followup(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., CliResult]]:
    """Run the `followup` command line in-process: ``followup("poll", "--once", env={...})``."""
    from pipeline.cli import main

    def run(*args: str, env: dict[str, str] | None = None) -> CliResult:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    yield run
    # The CLI points logging at this test's captured stderr: detach it before that closes.
    logging.getLogger().handlers.clear()
