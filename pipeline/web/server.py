"""``serve``: run the review app under uvicorn, refusing an unsafe address.

Bound to 127.0.0.1 by default. Any other address needs an access token: the environment
variable that ``[serve] token_env`` names must be set, or serving stops before it starts.
"""

from __future__ import annotations

import ipaddress
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pipeline.config import Settings
from pipeline.errors import ConfigError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name might resolve anywhere


def check_exposure(settings: Settings, environ: Mapping[str, str], host: str) -> None:
    """ConfigError naming ``serve.token_env`` when ``host`` is public and no token is set."""
    if is_loopback(host):
        return
    name = settings.serve.token_env
    if not name:
        raise ConfigError(
            f"refusing to serve on {host} without an access token: set serve.token_env "
            "to the name of an environment variable that holds one",
            str(settings.path),
            "serve.token_env",
        )
    if not environ.get(name):
        raise ConfigError(
            f"refusing to serve on {host}: environment variable {name} (the access token) "
            "is not set",
            str(settings.path),
            "serve.token_env",
        )


def serve(settings: Settings, environ: Mapping[str, str], *, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM; then finish open requests and exit 0."""
    import uvicorn

    from pipeline.bootstrap import open_store
    from pipeline.web.app import create_app

    check_exposure(settings, environ, host)
    store = open_store(settings)
    try:
        app = create_app(store, settings, environ)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
            server_header=False,
            proxy_headers=False,
            access_log=False,
        )
        _server_class(uvicorn.Server)(config).run()
    finally:
        store.engine.dispose()


def _server_class(base: Any) -> Any:
    class Server(base):  # type: ignore[misc]
        """uvicorn's server, minus re-raising the stop signal after a clean shutdown (which
        would make the exit status -15): a stopped `followup serve` exits 0, as `run` does."""

        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            stops = (signal.SIGINT, signal.SIGTERM)
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in stops}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server
