"""`followup run` as a real subprocess, for the service and replica tests.

``ServiceProcess`` starts the command with a config, keeps its stderr in a file (a pipe
could fill and block the service), and stops it with a signal. ``wait_for`` polls a
condition until a deadline: every wait in these tests is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float, what: str, step: float = 0.1) -> T:
    """The first truthy value of ``condition()``; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)  # ok: polling a subprocess's effects, bounded by the deadline


@dataclass
class ServiceProcess:
    """``followup <command…> --config <config>``, e.g. ``command=("run",)``."""

    command: tuple[str, ...]
    config: Path
    log: Path
    env: Mapping[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        environ = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        environ.pop("FOLLOWUP_CONFIG", None)
        with self.log.open("ab") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pipeline", *self.command, "--config", str(self.config)],
                cwd=ROOT,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        return self

    def wait_started(self, timeout: float = 30) -> ServiceProcess:
        """Wait for the "service started" line: the schema exists and the scheduler ticks."""
        wait_for(lambda: "service started" in self.text() or not self.alive(), timeout, "start")
        assert self.alive(), f"followup run exited with {self.wait()}:\n{self.text()}"
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def send(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> int:
        """Send ``sig`` and wait for the exit status."""
        self.send(sig)
        return self.wait(timeout)

    def wait(self, timeout: float = 30) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"followup run did not stop in {timeout}s:\n{self.text()}"
            ) from None

    def kill(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait(10)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def records(self) -> list[dict[str, Any]]:
        """The JSON log lines (the configs these tests write switch JSON logs on)."""
        return [json.loads(line) for line in self.text().splitlines() if line.startswith("{")]
