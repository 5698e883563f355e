"""What every command shares: the config lookup, one-line errors, exit codes, logging."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from pipeline.config import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def die(message: str, code: int) -> NoReturn:
    """One line on stderr, then exit with ``code``."""
    click.echo(f"followup: {one_line(message)}", err=True)
    sys.exit(code)


def warn(message: str) -> None:
    click.echo(f"followup: {one_line(message)}", err=True)


def one_line(text: str) -> str:
    return " ".join(str(text).split())[:2000]


def _remember_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        ctx.ensure_object(dict)["config"] = value
    return value


def config_option(command: F) -> F:
    """``--config PATH``, accepted before or after the subcommand."""
    return click.option(
        "--config",
        "config_path",
        type=str,
        default=None,
        expose_value=False,
        is_eager=True,
        callback=_remember_config,
        help="Config file (default: $FOLLOWUP_CONFIG, then config/followup.toml).",
    )(command)


def settings_from(ctx: click.Context) -> Settings:
    """The settings by lookup order; a bad config raises ConfigError (exit 2 at the top)."""
    root = ctx.find_root()
    obj = root.ensure_object(dict)
    if "settings" not in obj:
        explicit = None
        current: click.Context | None = ctx
        while current is not None:
            if isinstance(current.obj, dict) and current.obj.get("config"):
                explicit = current.obj["config"]
                break
            current = current.parent
        obj["settings"] = load_settings(explicit, os.environ)
    settings: Settings = obj["settings"]
    return settings


def setup_logging(level: str = "WARNING", *, json_lines: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else ContextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic", "hpack"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


_CONTEXT_KEYS = ("feed", "seed", "channel", "batch", "outcome", "replica")


class ContextFormatter(logging.Formatter):
    """``time level logger: message [feed=… channel=…]``: every line names what it is about."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(
            f"{key}={getattr(record, key)}" for key in _CONTEXT_KEYS if hasattr(record, key)
        )
        return f"{line} [{context}]" if context else line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update({key: getattr(record, key) for key in _CONTEXT_KEYS if hasattr(record, key)})
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)
