"""What every command shares: the config lookup, one-line errors, exit codes, logging."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, NoReturn, TypeVar

import click

from pipeline.config import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def lazy_module(name: str) -> ModuleType:
    """``import name``, run at the first attribute read: `followup --help` imports every
    command's module, and none needs the matcher or the tuning arithmetic to list itself.
    (The standard library's LazyLoader, as its documentation shows it.)"""
    import importlib.util

    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


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


def setup_logging(
    level: str = "WARNING",
    *,
    json_lines: bool = False,
    replica: str | None = None,
    secrets: Iterable[str] = (),
) -> None:
    """Log to stderr, one line per record; each line names the replica when given one.

    ``secrets`` (signing keys, passwords) are masked wherever they would appear, and so are
    the passwords of URLs and the tokens that Slack and Discord webhook URLs carry.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else ContextFormatter())
    handler.addFilter(Redactor(secrets))
    if replica:
        handler.addFilter(_Tagger(replica))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "alembic", "hpack"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # APScheduler warns when a tick is skipped because the last one still runs: by design here.
    logging.getLogger("apscheduler").setLevel(max(logging.ERROR, root.level))


def secret_values(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """Every secret the config points at: the values of its ``*_env`` variables, and the
    database password."""
    names = [hook.secret_env for hook in settings.digest.webhooks]
    if settings.digest.email:
        names += [
            settings.digest.email.username_env or "",
            settings.digest.email.password_env or "",
        ]
    names.append(settings.serve.token_env or "")
    names.append("PGPASSWORD")  # libpq's own variable, when the URL carries no password
    values = [environ.get(name, "") for name in names if name]
    password = _url_password(settings.database_url)
    return [value for value in [*values, password] if value and len(value) >= 4]


def _url_password(url: str) -> str:
    match = re.match(r"^[\w+.-]+://[^:/@]*:([^@]*)@", url)
    return match.group(1) if match else ""


_CONTEXT_KEYS = ("feed", "seed", "channel", "batch", "outcome", "replica")
# user:password@ in URLs; the token part of Slack and Discord webhook URLs; token-ish
# query parameters.
_URL_SECRETS = (
    (re.compile(r"(://[^:/@\s]+:)[^@\s/]+@"), r"\1***@"),
    (re.compile(r"(hooks\.slack\.com/services/)[\w/-]+"), r"\1***"),
    (re.compile(r"(discord(?:app)?\.com/api/webhooks/\d+/)[\w-]+"), r"\1***"),
    (
        re.compile(
            r"([?&](?:token|key|secret|sig|signature|password|api_key|access_token)=)[^&\s\"']+",
            re.I,
        ),
        r"\1***",
    ),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    for pattern, replacement in _URL_SECRETS:
        text = pattern.sub(replacement, text)
    return text


class Redactor(logging.Filter):
    """Masks secrets in the message, its context fields and any traceback, before formatting."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        for key in _CONTEXT_KEYS:
            value = getattr(record, key, None)
            if isinstance(value, str):
                setattr(record, key, redact(value, self.secrets))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


class _Tagger(logging.Filter):
    def __init__(self, replica: str) -> None:
        super().__init__()
        self.replica = replica

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "replica"):
            record.replica = self.replica
        return True


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
    """One JSON object per line: ISO 8601 UTC time, level, logger, message, context fields."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC)
        data: dict[str, Any] = {
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update({key: getattr(record, key) for key in _CONTEXT_KEYS if hasattr(record, key)})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, ensure_ascii=False, default=str)
