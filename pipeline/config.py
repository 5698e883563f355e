"""The TOML configuration, parsed once into a frozen ``Settings``.

Lookup order: ``--config PATH``, then ``$FOLLOWUP_CONFIG``, then ``config/followup.toml`` in
the current folder. Relative paths (seed files, a SQLite file) are resolved against the
folder that holds the config file. Every error names the file and the key. Secrets are never
in the file: the file names environment variables, resolved from an injected ``environ``.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.errors import ConfigError
from pipeline.types import FeedSpec

DEFAULT_PATH = Path("config/followup.toml")
WEBHOOK_FORMATS = ("json", "slack", "discord")
EMAIL_SECURITY = ("none", "starttls", "tls")


@dataclass(frozen=True)
class Setting:
    """One declared key: its default and what it is for (the README documents each one)."""

    key: str
    default: Any
    help: str


# Every key the file may hold, declared once. ``tests/test_docs.py`` checks the README.
SETTINGS: tuple[Setting, ...] = (
    Setting("database.url", "sqlite:///../data/followup.db", "any SQLAlchemy URL"),
    Setting("polling.interval_seconds", 900, "how often each feed is polled"),
    Setting("polling.adaptive", False, "adapt each feed's interval to how often it changes"),
    Setting("polling.min_interval_seconds", 300, "lower bound of the adaptive interval"),
    Setting("polling.max_interval_seconds", 21600, "upper bound of the adaptive interval"),
    Setting("polling.max_backoff_seconds", 86400, "longest wait after repeated errors"),
    Setting("polling.concurrency", 64, "feeds fetched at once"),
    Setting("polling.per_origin", 6, "feeds fetched at once from one scheme://host:port"),
    # A whole fetch is bounded as Miniflux (20 s) and FreshRSS (15 s) bound theirs: a feed
    # that trickles a byte a second holds a poll no longer than that.
    Setting("polling.connect_timeout", 5.0, "seconds to connect"),
    Setting("polling.read_timeout", 10.0, "seconds between two reads"),
    Setting("polling.total_timeout", 15.0, "seconds for a whole fetch"),
    Setting("polling.max_bytes", 10_485_760, "largest feed body, before and after decompression"),
    Setting("polling.workers", 0, "parsing processes (0: one per core)"),
    Setting("polling.batch_size", 200, "feeds one replica claims per tick"),
    Setting("polling.lease_seconds", 300, "how long a claimed feed stays with its replica"),
    Setting("polling.allow_private", False, "let `feeds add` target private addresses"),
    Setting("polling.user_agent", "", "User-Agent header (default names followup)"),
    Setting("feeds.url", None, "a feed URL"),
    Setting("feeds.name", None, "the feed's display name (optional)"),
    Setting("seeds.id", None, "the seed's id"),
    Setting("seeds.article", None, "path of the seed article text"),
    Setting("seeds.profile", None, "path of its profile TOML (optional)"),
    Setting("seeds.threshold", None, "score from which an item matches (optional)"),
    Setting("digest.cron", "0 8 * * *", "when `followup run` sends digests (crontab)"),
    Setting("digest.timezone", "UTC", "time zone of the cron expression"),
    Setting("digest.send_empty", False, "send a digest even when nothing is new"),
    Setting("digest.backfill_days", 7, "a new channel starts with this many days of matches"),
    Setting("digest.alert_score", None, "matches from this score go out at once (alerts)"),
    Setting("digest.retry_seconds", 60, "first retry delay of a failed delivery (doubles)"),
    Setting("digest.email.host", "127.0.0.1", "SMTP host"),
    Setting("digest.email.port", 25, "SMTP port"),
    Setting("digest.email.sender", None, "From address"),
    Setting("digest.email.to", None, "list of recipients"),
    Setting("digest.email.security", "none", "none, starttls or tls"),
    Setting("digest.email.username_env", None, "env variable holding the SMTP user"),
    Setting("digest.email.password_env", None, "env variable holding the SMTP password"),
    Setting("digest.email.cron", None, "this channel's own digest schedule"),
    Setting("digest.email.timezone", None, "time zone of this channel's cron"),
    Setting("digest.email.alerts", False, "send immediate alerts on this channel"),
    Setting("digest.webhooks.url", None, "where to POST"),
    Setting("digest.webhooks.secret_env", None, "env variable holding the signing secret"),
    Setting("digest.webhooks.format", "json", "json, slack or discord"),
    Setting("digest.webhooks.cron", None, "this channel's own digest schedule"),
    Setting("digest.webhooks.timezone", None, "time zone of this channel's cron"),
    Setting("digest.webhooks.alerts", False, "send immediate alerts on this channel"),
    Setting("retention.unmatched_item_days", 90, "days to keep items that matched no seed"),
    Setting("serve.host", "127.0.0.1", "address of the review page"),
    Setting("serve.port", 8080, "port of the review page"),
    Setting("serve.token_env", None, "env variable holding the page's access token"),
    Setting("logging.level", "INFO", "log level"),
    Setting("logging.json", False, "one JSON object per log line"),
)
_KNOWN = {s.key: s for s in SETTINGS}
_DEFAULTS = {s.key: s.default for s in SETTINGS}


@dataclass(frozen=True)
class SeedSettings:
    id: str
    article_path: Path
    profile_path: Path | None
    article_text: str
    profile_text: str | None
    threshold: float | None = None


@dataclass(frozen=True)
class PollingSettings:
    interval_seconds: int = 900
    adaptive: bool = False
    min_interval_seconds: int = 300
    max_interval_seconds: int = 21600
    max_backoff_seconds: int = 86400
    concurrency: int = 64
    per_origin: int = 6  # as browsers open to one host over HTTP/1.1
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 15.0
    max_bytes: int = 10_485_760
    workers: int = 0
    batch_size: int = 200
    lease_seconds: int = 300
    allow_private: bool = False
    user_agent: str = ""


@dataclass(frozen=True)
class EmailSettings:
    host: str
    port: int
    sender: str
    to: tuple[str, ...]
    security: str = "none"
    username_env: str | None = None
    password_env: str | None = None
    cron: str | None = None
    timezone: str | None = None
    alerts: bool = False

    @property
    def channel(self) -> str:
        return "email"


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    secret_env: str
    format: str = "json"
    cron: str | None = None
    timezone: str | None = None
    alerts: bool = False

    @property
    def channel(self) -> str:
        """A stable name that never shows the URL's path: Slack and Discord keep tokens there."""
        parts = urlsplit(self.url)
        digest = hashlib.sha256(self.url.encode()).hexdigest()[:10]
        return f"webhook:{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}#{digest}"


@dataclass(frozen=True)
class DigestSettings:
    cron: str = "0 8 * * *"
    timezone: str = "UTC"
    send_empty: bool = False
    backfill_days: int = 7
    alert_score: float | None = None
    retry_seconds: int = 60
    email: EmailSettings | None = None
    webhooks: tuple[WebhookSettings, ...] = ()

    @property
    def channels(self) -> tuple[EmailSettings | WebhookSettings, ...]:
        return ((self.email,) if self.email else ()) + self.webhooks


@dataclass(frozen=True)
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    token_env: str | None = None


@dataclass(frozen=True)
class Settings:
    path: Path
    database_url: str
    polling: PollingSettings = field(default_factory=PollingSettings)
    feeds: tuple[FeedSpec, ...] = ()
    seeds: tuple[SeedSettings, ...] = ()
    digest: DigestSettings = field(default_factory=DigestSettings)
    retention_days: int = 90
    serve: ServeSettings = field(default_factory=ServeSettings)
    log_level: str = "INFO"
    log_json: bool = False

    def seed(self, seed_id: str) -> SeedSettings:
        for seed in self.seeds:
            if seed.id == seed_id:
                return seed
        known = ", ".join(s.id for s in self.seeds) or "none"
        raise ConfigError(f"no seed {seed_id!r} (configured: {known})", str(self.path), "seeds.id")


def find_config(explicit: str | None, environ: Mapping[str, str]) -> Path:
    """The config file by lookup order; a missing one is a ConfigError naming the path."""
    candidate = explicit or environ.get("FOLLOWUP_CONFIG") or str(DEFAULT_PATH)
    path = Path(candidate)
    if not path.is_file():
        how = (
            "--config"
            if explicit
            else "FOLLOWUP_CONFIG"
            if environ.get("FOLLOWUP_CONFIG")
            else "default"
        )
        raise ConfigError(f"config file not found ({how} lookup)", str(path))
    return path


def load_settings(explicit: str | None, environ: Mapping[str, str]) -> Settings:
    path = find_config(explicit, environ)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", str(path)) from exc
    return parse_settings(data, path)


def parse_settings(data: Mapping[str, Any], path: Path) -> Settings:
    reader = _Reader(path)
    reader.check_keys(data, "")
    base = path.parent
    return Settings(
        path=path,
        database_url=_database_url(reader.get(data, "database.url", str), base, reader),
        polling=_polling(data, reader),
        feeds=_feeds(data, reader),
        seeds=_seeds(data, reader, base),
        digest=_digest(data, reader),
        retention_days=reader.get(data, "retention.unmatched_item_days", int),
        serve=ServeSettings(
            host=reader.get(data, "serve.host", str),
            port=reader.get(data, "serve.port", int),
            token_env=reader.get(data, "serve.token_env", str),
        ),
        log_level=reader.get(data, "logging.level", str).upper(),
        log_json=reader.get(data, "logging.json", bool),
    )


def resolve_secrets(settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    """Each webhook channel's signing secret; an unset variable is a ConfigError naming it."""
    secrets = {}
    for index, hook in enumerate(settings.digest.webhooks):
        value = environ.get(hook.secret_env)
        if not value:
            raise ConfigError(
                f"environment variable {hook.secret_env} is not set (signing secret of {hook.url})",
                str(settings.path),
                f"digest.webhooks[{index}].secret_env",
            )
        secrets[hook.channel] = value
    email = settings.digest.email
    if email:
        for key in ("username_env", "password_env"):
            name = getattr(email, key)
            if name and not environ.get(name):
                raise ConfigError(
                    f"environment variable {name} is not set",
                    str(settings.path),
                    f"digest.email.{key}",
                )
    return secrets


class _Reader:
    """Typed access to nested keys, with errors that name the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, self.path, key)

    def check_keys(self, table: Mapping[str, Any], prefix: str, display: str | None = None) -> None:
        for key, value in table.items():
            dotted = f"{prefix}{key}"
            shown = f"{display}.{key}" if display else dotted
            if isinstance(value, dict) and not any(k.startswith(dotted + ".") for k in _KNOWN):
                raise self.fail(shown, "unknown table")
            if isinstance(value, dict):
                self.check_keys(value, dotted + ".", shown)
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                if not any(k.startswith(dotted + ".") for k in _KNOWN):
                    raise self.fail(shown, "unknown key")
                for index, entry in enumerate(value):
                    self.check_keys(entry, dotted + ".", f"{shown}[{index}]")
            elif dotted not in _KNOWN:
                raise self.fail(shown, "unknown key")

    def get(
        self, table: Mapping[str, Any], key: str, kind: type, *, shown: str | None = None
    ) -> Any:
        """Value at dotted ``key`` under ``table`` (default from SETTINGS), checked for type."""
        *parents, leaf = key.split(".")
        node: Any = table
        for parent in parents:
            node = node.get(parent, {}) if isinstance(node, Mapping) else {}
        value = node.get(leaf, _DEFAULTS.get(key)) if isinstance(node, Mapping) else None
        return self.typed(value, kind, shown or key)

    def typed(self, value: Any, kind: type, key: str) -> Any:
        if value is None:
            return None
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if kind is not bool and isinstance(value, bool) or not isinstance(value, kind):
            raise self.fail(key, f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
        return value

    def entries(self, data: Mapping[str, Any], key: str) -> list[tuple[str, Mapping[str, Any]]]:
        parent, _, leaf = key.rpartition(".")
        node: Any = data
        for part in filter(None, parent.split(".")):
            node = node.get(part, {})
        raw = node.get(leaf, []) if isinstance(node, Mapping) else []
        if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
            raise self.fail(key, "expected an array of tables ([[...]])")
        return [(f"{key}[{index}]", entry) for index, entry in enumerate(raw)]

    def required(self, entry: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
        if name not in entry:
            raise self.fail(f"{where}.{name}", "missing")
        return self.typed(entry[name], kind, f"{where}.{name}")

    def optional(self, entry: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
        leaf = key.rsplit(".", 1)[1]
        return self.typed(entry.get(leaf, _DEFAULTS.get(key)), kind, f"{where}.{leaf}")


def _database_url(url: str, base: Path, reader: _Reader) -> str:
    if not url:
        raise reader.fail("database.url", "empty")
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        file = url.removeprefix("sqlite:///")
        if not file.startswith("/"):
            return f"sqlite:///{(base / file).resolve()}"
    return url


def _positive(reader: _Reader, key: str, value: Any) -> Any:
    if value is not None and value <= 0:
        raise reader.fail(key, f"must be positive, got {value!r}")
    return value


def _polling(data: Mapping[str, Any], reader: _Reader) -> PollingSettings:
    values: dict[str, Any] = {}
    for name in PollingSettings.__dataclass_fields__:
        key = f"polling.{name}"
        kind: type = type(_DEFAULTS[key])
        value = reader.get(data, key, kind)
        plain = kind is bool or kind is str or name == "workers"
        values[name] = value if plain else _positive(reader, key, value)
    if values["min_interval_seconds"] > values["max_interval_seconds"]:
        raise reader.fail("polling.min_interval_seconds", "must not exceed max_interval_seconds")
    if values["lease_seconds"] < 2 * values["total_timeout"]:
        # A lease that runs out mid-fetch lets a second replica poll the same feed.
        raise reader.fail("polling.lease_seconds", "must be at least twice polling.total_timeout")
    return PollingSettings(**values)


def _feeds(data: Mapping[str, Any], reader: _Reader) -> tuple[FeedSpec, ...]:
    feeds, seen = [], set()
    for where, entry in reader.entries(data, "feeds"):
        url = reader.required(entry, "url", str, where)
        if not url.startswith(("http://", "https://")):
            raise reader.fail(f"{where}.url", f"not an http(s) URL: {url!r}")
        if url in seen:
            raise reader.fail(f"{where}.url", f"listed twice: {url}")
        seen.add(url)
        feeds.append(FeedSpec(url=url, name=reader.optional(entry, "feeds.name", str, where)))
    return tuple(feeds)


def _read_text(path: Path, reader: _Reader, key: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise reader.fail(
            key, f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from exc


def _seeds(data: Mapping[str, Any], reader: _Reader, base: Path) -> tuple[SeedSettings, ...]:
    seeds, seen = [], set()
    for where, entry in reader.entries(data, "seeds"):
        seed_id = reader.required(entry, "id", str, where)
        if not seed_id or seed_id in seen:
            raise reader.fail(f"{where}.id", f"empty or repeated seed id {seed_id!r}")
        seen.add(seed_id)
        article = (base / reader.required(entry, "article", str, where)).resolve()
        profile_rel = reader.optional(entry, "seeds.profile", str, where)
        profile = (base / profile_rel).resolve() if profile_rel else None
        threshold = reader.optional(entry, "seeds.threshold", float, where)
        if threshold is not None and not 0 <= threshold <= 1:
            raise reader.fail(f"{where}.threshold", "must be within [0, 1]")
        seeds.append(
            SeedSettings(
                id=seed_id,
                article_path=article,
                profile_path=profile,
                article_text=_read_text(article, reader, f"{where}.article"),
                profile_text=_read_text(profile, reader, f"{where}.profile") if profile else None,
                threshold=threshold,
            )
        )
    return tuple(seeds)


def _check_cron(reader: _Reader, key: str, value: str | None) -> str | None:
    if value is not None and len(value.split()) != 5:
        raise reader.fail(key, f"expected 5 crontab fields, got {value!r}")
    return value


def _check_zone(reader: _Reader, key: str, value: str | None) -> str | None:
    if value is not None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise reader.fail(key, f"unknown time zone {value!r}") from exc
    return value


def _choice(reader: _Reader, key: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise reader.fail(key, f"expected one of {', '.join(choices)}, got {value!r}")
    return value


def _email(data: Mapping[str, Any], reader: _Reader) -> EmailSettings | None:
    table = data.get("digest", {}).get("email")
    if table is None:
        return None
    where = "digest.email"
    opt: Callable[[str, type], Any] = lambda name, kind: reader.optional(  # noqa: E731
        table, f"{where}.{name}", kind, where
    )
    to = reader.required(table, "to", list, where)
    if not to or not all(isinstance(a, str) and "@" in a for a in to):
        raise reader.fail(f"{where}.to", "expected a list of email addresses")
    return EmailSettings(
        host=opt("host", str),
        port=opt("port", int),
        sender=reader.required(table, "sender", str, where),
        to=tuple(to),
        security=_choice(reader, f"{where}.security", opt("security", str), EMAIL_SECURITY),
        username_env=opt("username_env", str),
        password_env=opt("password_env", str),
        cron=_check_cron(reader, f"{where}.cron", opt("cron", str)),
        timezone=_check_zone(reader, f"{where}.timezone", opt("timezone", str)),
        alerts=opt("alerts", bool),
    )


def _webhooks(data: Mapping[str, Any], reader: _Reader) -> tuple[WebhookSettings, ...]:
    hooks = []
    for where, entry in reader.entries(data, "digest.webhooks"):
        url = reader.required(entry, "url", str, where)
        if not url.startswith(("http://", "https://")):
            raise reader.fail(f"{where}.url", f"not an http(s) URL: {url!r}")
        fmt = reader.optional(entry, "digest.webhooks.format", str, where)
        hooks.append(
            WebhookSettings(
                url=url,
                secret_env=reader.required(entry, "secret_env", str, where),
                format=_choice(reader, f"{where}.format", fmt, WEBHOOK_FORMATS),
                cron=_check_cron(
                    reader,
                    f"{where}.cron",
                    reader.optional(entry, "digest.webhooks.cron", str, where),
                ),
                timezone=_check_zone(
                    reader,
                    f"{where}.timezone",
                    reader.optional(entry, "digest.webhooks.timezone", str, where),
                ),
                alerts=reader.optional(entry, "digest.webhooks.alerts", bool, where),
            )
        )
    if len({h.url for h in hooks}) != len(hooks):
        raise reader.fail("digest.webhooks", "the same url is listed twice")
    return tuple(hooks)


def _digest(data: Mapping[str, Any], reader: _Reader) -> DigestSettings:
    alert = reader.get(data, "digest.alert_score", float)
    if alert is not None and not 0 <= alert <= 1:
        raise reader.fail("digest.alert_score", "must be within [0, 1]")
    return DigestSettings(
        cron=_check_cron(reader, "digest.cron", reader.get(data, "digest.cron", str))
        or "0 8 * * *",
        timezone=_check_zone(reader, "digest.timezone", reader.get(data, "digest.timezone", str))
        or "UTC",
        send_empty=reader.get(data, "digest.send_empty", bool),
        backfill_days=reader.get(data, "digest.backfill_days", int),
        alert_score=alert,
        retry_seconds=_positive(
            reader, "digest.retry_seconds", reader.get(data, "digest.retry_seconds", int)
        ),
        email=_email(data, reader),
        webhooks=_webhooks(data, reader),
    )
