"""Meta-tests that keep the surface honest: docs, tests and import layers."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import click

from pipeline.config import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
INTERFACE = ROOT.parent / "shared" / "interface.md"


def leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += leaf_commands(command, prefix + (name,))
        else:
            found.append(prefix + (name,))
    return found


def test_every_config_key_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [s.key for s in SETTINGS if f"`{s.key}`" not in readme]
    assert missing == []


def test_every_key_of_the_interface_contract_is_declared():
    if not INTERFACE.is_file():  # the contract lives beside the project, in shared/
        return
    text = INTERFACE.read_text(encoding="utf-8")
    block = text.split("```toml", 1)[1].split("```", 1)[0]
    declared = {s.key for s in SETTINGS}
    table = ""
    for line in block.splitlines():
        if header := re.match(r"\s*\[\[?([\w.]+)\]\]?", line):
            table = header.group(1)
        elif key := re.match(r"\s*(\w+)\s*=", line):
            assert f"{table}.{key.group(1)}" in declared, f"{table}.{key.group(1)}"


def test_every_command_has_a_test():
    from pipeline.cli import _register, cli

    _register()
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py"))
    untested = [
        " ".join(path)
        for path in leaf_commands(cli)
        if not all(f'"{part}"' in tests for part in path)
    ]
    assert untested == []


def test_import_layers_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a dev dependency"
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]


def test_the_pure_core_imports_neither_sqlalchemy_nor_httpx():
    code = (
        "import sys, pipeline.matching, pipeline.parsing, pipeline.digest, pipeline.text;"
        "bad = [m for m in ('sqlalchemy', 'httpx') if m in sys.modules];"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_command_line_loads_no_database_or_http_code_until_a_command_needs_it():
    code = (
        "import sys; from pipeline.cli import _register; _register();"
        "bad = [m for m in ('sqlalchemy', 'httpx', 'starlette') if m in sys.modules];"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
