"""The one error tree of followup. Each error knows what it is about and renders one line.

    PipelineError
    ├── ConfigError(path, key)         bad configuration: exit 2
    ├── InputError(source, line)       a bad line of user input (classify, evaluate)
    ├── FeedError(url)                 one feed failed; the others go on
    │   ├── FetchError                 network, HTTP status, limits
    │   └── ParseError                 not a feed, or a hostile one
    ├── StorageError                   the database did not answer or refused
    └── DeliveryError(channel)         one channel failed; retried later

Adapters wrap third-party exceptions once, at their edge (``wrap_errors``); nothing above
them catches ``sqlalchemy``, ``httpx`` or ``smtplib`` exceptions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class PipelineError(Exception):
    """Root of every error followup reports as one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(PipelineError, ValueError):
    """The configuration is wrong: names the file and, where there is one, the key."""

    def __init__(self, message: str, path: str | None = None, key: str | None = None) -> None:
        self.path, self.key = path, key
        where = ": ".join(part for part in (path, f"key {key!r}" if key else None) if part)
        super().__init__(f"{where}: {message}" if where else message)


class InputError(PipelineError, ValueError):
    """A line of user input that cannot be used."""

    def __init__(self, message: str, source: str, line: int | None = None) -> None:
        self.source, self.line = source, line
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")


class FeedError(PipelineError):
    """One feed failed. ``retry_after`` (seconds) is the server's wish, when it said one."""

    def __init__(
        self,
        url: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.url, self.status, self.retry_after = url, status, retry_after
        self.reason = one_line(message)
        super().__init__(f"feed {one_line(url)}: {self.reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross the parsing process pool: rebuild from the same arguments.
        return (
            _rebuild_feed_error,
            (type(self), self.url, self.reason, self.status, self.retry_after),
        )


class FetchError(FeedError):
    """The feed could not be fetched: network, HTTP status or a limit."""


class ParseError(FeedError):
    """The body is not a feed we can read safely."""


class StorageError(PipelineError):
    """The database failed."""


class DeliveryError(PipelineError):
    """A delivery channel failed."""

    def __init__(self, channel: str, message: str) -> None:
        self.channel = channel
        self.reason = message
        super().__init__(f"channel {channel}: {message}")


@contextmanager
def wrap_errors(
    error: type[PipelineError], message: str, *types: type[BaseException]
) -> Iterator[None]:
    """Re-raise ``types`` (default: any Exception) as ``error(f"{message}: {cause}")``."""
    catch: tuple[type[BaseException], ...] = types or (Exception,)
    try:
        yield
    except PipelineError:
        raise
    except catch as exc:
        raise error(f"{message}: {type(exc).__name__}: {_first_line(exc)}") from exc


@contextmanager
def delivery_errors(channel: str, *types: type[BaseException]) -> Iterator[None]:
    """Re-raise ``types`` from a channel adapter as ``DeliveryError(channel, …)``."""
    try:
        yield
    except DeliveryError:
        raise
    except types as exc:
        raise DeliveryError(channel, f"{type(exc).__name__}: {_first_line(exc)}") from exc


def _rebuild_feed_error(
    cls: type[FeedError], url: str, reason: str, status: int | None, retry_after: float | None
) -> FeedError:
    return cls(url, reason, status=status, retry_after=retry_after)


def one_line(text: str) -> str:
    """``text`` with control characters (CR, LF, NUL …) shown escaped: one line, always."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or repr(exc)
    return text.splitlines()[0][:300]
