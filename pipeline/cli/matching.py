"""`classify`, `evaluate` and `seed draft`: matching from the command line, offline.

None of these touch a database or the network, and this module imports neither SQLAlchemy
nor httpx, so `followup classify` starts in a fraction of a second.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click

from pipeline.cli.common import EXIT_FAILED, config_option, die, settings_from, warn
from pipeline.errors import ConfigError, InputError, PipelineError

EXIT_USAGE = 2
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_decode = json.JSONDecoder().decode


@click.command()
@config_option
@click.argument("items", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--seed", "seed_id", default=None, help="Only this seed (default: every seed).")
@click.option(
    "--jobs",
    type=click.IntRange(0, 64),
    default=0,
    help="Worker processes (default 0: one per CPU for inputs over 1 MB, else none).",
)
@click.pass_context
def classify(ctx: click.Context, items: str, seed_id: str | None, jobs: int) -> None:
    """Classify news items (JSON lines) against the configured seeds, offline.

    Prints one JSON object per item and seed: id, seed, score, match, kind, reasons. A line
    that is not a valid item is reported on stderr with its number and skipped (exit 1).
    """
    from pipeline.matching import Matcher

    global _MATCHERS
    _MATCHERS = [(seed, Matcher(profile)) for seed, profile in _profiles(ctx, seed_id)]
    stream = _open(items)
    workers = jobs or _default_jobs(items)
    out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
    skipped, base = 0, 0
    try:
        with stream, _mapper(workers) as mapper:
            for data, errors, lines in mapper(_classify_batch, _batches(stream, items, workers)):
                for number, message in errors:
                    skipped += 1
                    warn(str(InputError(message, _safe(items), base + number)))
                base += lines
                _write(out, data)
    except BrokenPipeError:  # the reader went away (`| head`): stop, say so, no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        die("stdout closed before every item was classified", EXIT_FAILED)
    if skipped:
        sys.exit(EXIT_FAILED)


# Set before worker processes fork, so each inherits the compiled matchers.
_MATCHERS: list[tuple[str, Any]] = []
_BATCH_LINES = 2000
_BATCH_BYTES = 1 << 20
_PARALLEL_BYTES = 1 << 20  # below this, starting workers costs more than it saves

# A batch is its raw lines, or (for workers reading a file themselves) a byte range of it.
_Batch = list[bytes] | tuple[str, int, int]


def _classify_batch(batch: _Batch) -> tuple[bytes, list[tuple[int, str]], int]:
    """Classify one batch: (output, [(line number within the batch, problem)], lines read)."""
    from pipeline.evaluation import item_from_json

    lines = batch if isinstance(batch, list) else _read_range(*batch)
    out: list[str] = []
    errors: list[tuple[int, str]] = []
    for number, raw in enumerate(lines, start=1):
        row = _parse(raw)
        if row is _BLANK:
            continue
        try:
            if isinstance(row, Exception):
                raise row
            item = item_from_json(row)
        except ValueError as exc:
            errors.append((number, _safe(str(exc))))
            continue
        for seed, matcher in _MATCHERS:
            out.append(_classified(item.id, seed, matcher.match(item)))
    return "".join(out).encode("utf-8"), errors, len(lines)


def _read_range(path: str, start: int, end: int) -> list[bytes]:
    with open(path, "rb") as stream:
        stream.seek(start)
        lines = stream.read(end - start).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the range ends with a newline
    return lines


def _batches(stream: IO[bytes], path: str, workers: int) -> Iterator[_Batch]:
    """Byte ranges of a regular file when workers read it themselves, else lists of lines."""
    if workers > 1 and path != "-":
        yield from _ranges(stream)
        return
    batch: list[bytes] = []
    for raw in stream:
        batch.append(raw)
        if len(batch) >= _BATCH_LINES:
            yield batch
            batch = []
    if batch:
        yield batch


def _ranges(stream: IO[bytes]) -> Iterator[tuple[str, int, int]]:
    """About a megabyte each, cut just after a newline (a long line stays whole)."""
    size = stream.seek(0, 2)
    start = 0
    while start < size:
        stream.seek(min(size, start + _BATCH_BYTES))
        stream.readline()
        end = min(size, stream.tell())
        yield stream.name, start, end
        start = end


def _default_jobs(path: str) -> int:
    """One worker per CPU for a large regular file (stdin included when redirected from one)."""
    try:
        info = os.fstat(sys.stdin.fileno()) if path == "-" else os.stat(path)
    except (OSError, ValueError):
        return 1
    large = stat.S_ISREG(info.st_mode) and info.st_size >= _PARALLEL_BYTES
    return (os.cpu_count() or 1) if large else 1


@contextmanager
def _mapper(workers: int) -> Iterator[Callable[..., Iterator[Any]]]:
    """``map`` itself, or an ordered map over forked worker processes."""
    import multiprocessing

    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield map
        return
    pool = multiprocessing.get_context("fork").Pool(workers)
    try:
        yield lambda function, batches: pool.imap(function, batches, chunksize=1)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


@click.command()
@config_option
@click.argument("labeled", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--labels", "stored", is_flag=True, help="Score against the labels stored by review.")
@click.option("--seed", "seed_id", default=None, help="Seed the labels are for (default: first).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--threshold", type=click.FloatRange(0.0, 1.0), default=None, help="Override the threshold."
)
@click.pass_context
def evaluate(
    ctx: click.Context,
    labeled: str | None,
    stored: bool,
    seed_id: str | None,
    as_json: bool,
    threshold: float | None,
) -> None:
    """Measure precision and recall on labeled items (label 0, 1 or 2), beside a keyword rule.

    With --labels, score the matcher against the labels analysts stored instead.
    """
    if stored == (labeled is not None):
        raise click.UsageError("give either LABELED.jsonl or --labels")
    if stored:
        from pipeline.cli.labels import evaluate_labels

        report_text = evaluate_labels(
            settings_from(ctx), seed_id=seed_id, threshold=threshold, as_json=as_json
        )
        click.echo(report_text, nl=False)
        return
    assert labeled is not None
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
    """Draft a profile (TOML) from an article alone, in any language: its entities with kinds
    and aliases (CLDR place names, transliterations), topics and rules. Each choice is
    explained in the TOML's comments; a summary goes to stderr."""
    from pipeline.drafting import draft_explained
    from pipeline.profile import load_profile

    text = _read_text(article)
    ident = seed_id or (Path(article).stem if article != "-" else "seed")
    toml_text, summary = draft_explained(text, ident)
    # a draft must load as written; one that cannot says why on one line
    load_profile(toml_text, seed_id=ident, source=f"{article} (drafted)")
    for line in summary:
        click.echo(f"followup: {line}", err=True)
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


_BLANK = object()


def _open(path: str) -> IO[bytes]:
    try:
        return sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as exc:
        die(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE)


def _parse(raw: bytes) -> Any:
    """A line's JSON value, ``_BLANK`` for an empty line, or the ValueError saying why not."""
    if not raw.strip():
        return _BLANK
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ValueError(f"not UTF-8 (byte {exc.start})")
    try:
        return _decode(text.strip())
    except ValueError as exc:
        return ValueError(f"not valid JSON: {str(exc)[:120]}")


def _json_lines(path: str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object or the ValueError) for each non-blank line."""
    with _open(path) as stream:
        for number, raw in enumerate(stream, start=1):
            row = _parse(raw)
            if row is not _BLANK:
                yield number, row


def _read_text(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        die(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE)


def _classified(ident: str, seed: str, result: Any) -> str:
    """One output line: ``{"id", "seed", "score", "match", "kind", "reasons"}``.

    Written by hand rather than through ``json.dumps`` of a dict: the reasons of one seed
    repeat (same entity, alias, field and weight), so each is encoded once and cached, and
    only the item's own text is encoded per line. Same JSON as ``Reason.to_json``.
    """
    reasons = ", ".join(_reason_json(reason) for reason in result.reasons)
    return _safe(
        f'{{"id": {_string(ident)}, "seed": {_string(seed)}, "score": {float(result.score)!r}, '
        f'"match": {"true" if result.match else "false"}, "kind": "{result.kind}", '
        f'"reasons": [{reasons}]}}\n'
    )


_string = json.encoder.encode_basestring
_REASON_PARTS: dict[tuple[Any, ...], tuple[str, str]] = {}


def _reason_json(reason: Any) -> str:
    key = (reason.name, reason.kind, reason.alias, reason.field, reason.similarity, reason.weight)
    parts = _REASON_PARTS.get(key)
    if parts is None:
        data = reason.to_json()
        data["matched"] = "\0"
        head, tail = json.dumps(data, ensure_ascii=False).split('"\\u0000"')
        parts = (head, tail)
        if len(_REASON_PARTS) < 50_000:  # bounded: weights and similarities vary a little
            _REASON_PARTS[key] = parts
    return f"{parts[0]}{_string(reason.matched)}{parts[1]}"


def _safe(text: str) -> str:
    """Lone surrogates (from "\\ud800" escapes) cannot be UTF-8: U+FFFD stands in for them."""
    return text if text.isascii() else _LONE_SURROGATE.sub("\ufffd", text)


def _write(out: IO[bytes] | None, data: bytes) -> None:
    if not data:
        return
    if out is None:
        sys.stdout.write(data.decode("utf-8"))
        sys.stdout.flush()
    else:
        out.write(data)
        out.flush()
