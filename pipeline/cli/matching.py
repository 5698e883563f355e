"""`classify`, `evaluate` and `seed draft`: matching from the command line, offline.

None of these touch a database or the network, and this module imports neither SQLAlchemy
nor httpx, so `followup classify` starts in a fraction of a second.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click

from pipeline.cli.common import EXIT_FAILED, config_option, die, settings_from, warn
from pipeline.errors import ConfigError, InputError, PipelineError

EXIT_USAGE = 2
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_FLUSH_EVERY = 1 << 16  # bytes of output buffered before a write


@click.command()
@config_option
@click.argument("items", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--seed", "seed_id", default=None, help="Only this seed (default: every seed).")
@click.pass_context
def classify(ctx: click.Context, items: str, seed_id: str | None) -> None:
    """Classify news items (JSON lines) against the configured seeds, offline.

    Prints one JSON object per item and seed: id, seed, score, match, kind, reasons. A line
    that is not a valid item is reported on stderr with its number and skipped (exit 1).
    """
    from pipeline.evaluation import item_from_json
    from pipeline.matching import Matcher

    matchers = [(seed, Matcher(profile)) for seed, profile in _profiles(ctx, seed_id)]
    skipped = 0
    out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
    chunks: list[str] = []
    size = 0
    for number, row in _json_lines(items):
        try:
            if isinstance(row, Exception):
                raise row
            item = item_from_json(row)
        except ValueError as exc:
            skipped += 1
            warn(str(InputError(_safe(str(exc)), _safe(items), number)))
            continue
        for seed, matcher in matchers:
            line = _classified(item.id, seed, matcher.match(item))
            chunks.append(line)
            size += len(line)
        if size >= _FLUSH_EVERY:
            _write(out, chunks)
            chunks, size = [], 0
    _write(out, chunks)
    if skipped:
        sys.exit(EXIT_FAILED)


@click.command()
@config_option
@click.argument("labeled", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--seed", "seed_id", default=None, help="Seed the labels are for (default: first).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--threshold", type=click.FloatRange(0.0, 1.0), default=None, help="Override the threshold."
)
@click.pass_context
def evaluate(
    ctx: click.Context, labeled: str, seed_id: str | None, as_json: bool, threshold: float | None
) -> None:
    """Measure precision and recall on labeled items (label 0, 1 or 2), beside a keyword rule."""
    from pipeline.evaluation import evaluate as run_evaluation
    from pipeline.evaluation import labeled_from_json, render_text, report_json
    from pipeline.matching import Matcher

    profiles = _profiles(ctx, seed_id)
    seed, profile = profiles[0]
    matcher = Matcher(profile)
    rows, skipped = [], 0
    for number, row in _json_lines(labeled):
        try:
            if isinstance(row, Exception):
                raise row
            rows.append(labeled_from_json(row))
        except ValueError as exc:
            skipped += 1
            warn(str(InputError(_safe(str(exc)), _safe(labeled), number)))
    results = [matcher.match(row.item) for row in rows]
    report = run_evaluation(
        rows, results, threshold=profile.threshold if threshold is None else threshold, seed=seed
    )
    if as_json:
        click.echo(json.dumps(report_json(report), ensure_ascii=False))
    else:
        click.echo(render_text(report), nl=False)
    if skipped:
        sys.exit(EXIT_FAILED)


@click.group()
def seed() -> None:
    """Seed profiles: draft one from an article."""


@seed.command("draft")
@click.argument("article", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--id", "seed_id", default=None, help="Seed id (default: the file's name).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None, help="Write here.")
def draft(article: str, seed_id: str | None, out: str | None) -> None:
    """Draft a profile (TOML) from an article's text: its named entities and key phrases."""
    from pipeline.profile import draft_profile_toml, load_profile

    text = _read_text(article)
    ident = seed_id or (Path(article).stem if article != "-" else "seed")
    toml_text = draft_profile_toml(text, ident)
    load_profile(toml_text, seed_id=ident, source="(draft)")  # a draft must load as written
    if out is None:
        click.echo(toml_text, nl=False)
        return
    try:
        Path(out).write_text(toml_text, encoding="utf-8")
    except OSError as exc:
        die(f"cannot write {out}: {exc.strerror or exc}", EXIT_FAILED)
    click.echo(f"followup: wrote {out}", err=True)


# ---------------------------------------------------------------------- helpers


def _profiles(ctx: click.Context, seed_id: str | None) -> list[tuple[str, Any]]:
    """(seed id, Profile) for every configured seed, or only ``seed_id``."""
    from pipeline.profile import profile_for_seed

    settings = settings_from(ctx)
    seeds = [s for s in settings.seeds if seed_id is None or s.id == seed_id]
    if not seeds:
        if seed_id is not None:
            known = ", ".join(s.id for s in settings.seeds) or "none"
            die(f"no seed {seed_id!r} in the configuration (seeds: {known})", EXIT_USAGE)
        die("the configuration has no [[seeds]]", EXIT_USAGE)
    profiles = []
    for s in seeds:
        source = str(s.profile_path or s.article_path)
        try:
            profile = profile_for_seed(s.id, s.article_text, s.profile_text, source)
        except ConfigError:
            raise
        except PipelineError as exc:  # pragma: no cover - profiles only raise ConfigError
            die(str(exc), EXIT_USAGE)
        threshold = getattr(s, "threshold", None)
        if threshold is not None:
            from dataclasses import replace

            profile = replace(profile, threshold=threshold)
        profiles.append((s.id, profile))
    return profiles


def _json_lines(path: str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object or the ValueError) for each non-blank line."""
    try:
        stream: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as exc:
        die(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE)
    decode = json.JSONDecoder().decode
    with stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, ValueError(f"not UTF-8 (byte {exc.start})")
                continue
            try:
                yield number, decode(text.strip())
            except ValueError as exc:
                yield number, ValueError(f"not valid JSON: {str(exc)[:120]}")


def _read_text(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        die(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE)


def _classified(ident: str, seed: str, result: Any) -> str:
    record = {
        "id": _safe(ident),
        "seed": seed,
        "score": result.score,
        "match": result.match,
        "kind": result.kind,
        "reasons": [_safe_reason(reason.to_json()) for reason in result.reasons],
    }
    return json.dumps(record, ensure_ascii=False) + "\n"


def _safe_reason(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _safe(v) if isinstance(v, str) else v for k, v in data.items()}


def _safe(text: str) -> str:
    """Lone surrogates (from "\\ud800" escapes) cannot be UTF-8: U+FFFD stands in for them."""
    return _LONE_SURROGATE.sub("\ufffd", text) if not text.isascii() else text


def _write(out: IO[bytes] | None, chunks: list[str]) -> None:
    if not chunks:
        return
    data = "".join(chunks)
    if out is None:
        sys.stdout.write(data)
    else:
        out.write(data.encode("utf-8"))
    (out or sys.stdout).flush()
