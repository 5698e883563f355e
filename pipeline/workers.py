"""The parse workers' entry points, light to import.

The polling process names these (the pool's initializer, each task) and unpickles what they
return (``pipeline.types``), so it never imports the parser or the matcher itself: they load
in the workers only, where ``pipeline.analysis`` is preloaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pipeline.types import Analysis, SeedSource


def init_worker(seeds: tuple[SeedSource, ...]) -> None:
    from pipeline.analysis import init_worker as build_matchers

    build_matchers(seeds)


def analyse_in_worker(body: bytes, url: str, content_type: str | None) -> Analysis:
    from pipeline.analysis import analyse_in_worker as analyse

    return analyse(body, url, content_type)


def analyse_each(
    analyse_one: Callable[[bytes, str, str | None], Analysis],
    jobs: Sequence[tuple[bytes, str, str | None]],
) -> list[Analysis | Exception]:
    """``analyse_one`` on several bodies in one task; a body's error is its own result."""
    results: list[Analysis | Exception] = []
    for body, url, content_type in jobs:
        try:
            results.append(analyse_one(body, url, content_type))
        except Exception as exc:  # sent back as a value: the other bodies still count
            results.append(exc)
    return results
