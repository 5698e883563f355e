"""Configuration: lookup order, relative paths, and one clear line for every mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import SETTINGS, load_settings
from pipeline.errors import ConfigError
from tests.fixtures_db import SEED_ARTICLE, SEED_PROFILE

SHIPPED = Path(__file__).resolve().parents[1] / "config" / "followup.toml"


def test_the_shipped_config_resolves_paths_against_its_own_folder():
    settings = load_settings(str(SHIPPED), {})
    root = SHIPPED.parent.parent
    assert settings.database_url == f"sqlite:///{root / 'data' / 'followup.db'}"
    [seed] = settings.seeds
    assert seed.article_path == root / "seeds" / "pakistan-alibaba-2026.txt"
    assert seed.profile_path == root / "seeds" / "pakistan-alibaba-2026.toml"
    assert len(settings.feeds) >= 15
    assert settings.digest.timezone == "Asia/Karachi"


def test_relative_paths_are_resolved_against_the_config_folder(tmp_path):
    folder = tmp_path / "conf"
    (folder / "s").mkdir(parents=True)
    (folder / "s" / "a.txt").write_text("Pakistan and Alibaba", encoding="utf-8")
    (folder / "f.toml").write_text(
        '[database]\nurl = "sqlite:///db/x.db"\n[[seeds]]\nid = "x"\narticle = "s/a.txt"\n'
    )
    settings = load_settings(str(folder / "f.toml"), {})
    assert settings.database_url == f"sqlite:///{folder / 'db' / 'x.db'}"
    assert settings.seeds[0].article_text == "Pakistan and Alibaba"
    assert settings.seeds[0].profile_text is None


def test_config_is_looked_up_by_flag_then_environment_then_default(tmp_path, monkeypatch):
    flag, env = tmp_path / "flag.toml", tmp_path / "env.toml"
    flag.write_text("[polling]\ninterval_seconds = 60\n")
    env.write_text("[polling]\ninterval_seconds = 120\n")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "followup.toml").write_text("[polling]\ninterval_seconds = 180\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings(str(flag), {"FOLLOWUP_CONFIG": str(env)}).polling.interval_seconds == 60
    assert load_settings(None, {"FOLLOWUP_CONFIG": str(env)}).polling.interval_seconds == 120
    assert load_settings(None, {}).polling.interval_seconds == 180


BAD_CONFIGS = {
    "unknown_key": ("[polling]\nintervall_seconds = 5\n", "polling.intervall_seconds"),
    "unknown_table": ("[pollling]\ninterval_seconds = 5\n", "pollling"),
    "wrong_type": ('[polling]\ninterval_seconds = "often"\n', "polling.interval_seconds"),
    "negative_interval": ("[polling]\ninterval_seconds = -1\n", "polling.interval_seconds"),
    "feed_without_url": ("[[feeds]]\nname = 'x'\n", "feeds[0].url"),
    "feed_not_http": ('[[feeds]]\nurl = "file:///etc/passwd"\n', "feeds[0].url"),
    "lease_shorter_than_a_fetch": (
        "[polling]\nlease_seconds = 60\ntotal_timeout = 60.0\n",
        "polling.lease_seconds",
    ),
    "bad_cron": ('[digest]\ncron = "every day"\n', "digest.cron"),
    "bad_timezone": ('[digest]\ntimezone = "Mars/Olympus"\n', "digest.timezone"),
    "bad_webhook_format": (
        '[[digest.webhooks]]\nurl = "http://127.0.0.1/h"\nsecret_env = "S"\nformat = "xml"\n',
        "digest.webhooks[0].format",
    ),
    "seed_unreadable": ('[[seeds]]\nid = "s"\narticle = "missing.txt"\n', "seeds[0].article"),
    "invalid_toml": ("[polling\n", "invalid TOML"),
}


@pytest.mark.parametrize("case", BAD_CONFIGS, ids=list(BAD_CONFIGS))
def test_a_bad_config_names_the_file_and_the_key(case, tmp_path):
    text, expected = BAD_CONFIGS[case]
    path = tmp_path / "followup.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), {})
    message = str(caught.value)
    assert str(path) in message and expected in message and "\n" not in message


def test_a_missing_config_exits_2_with_one_line(followup, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FOLLOWUP_CONFIG", raising=False)
    result = followup("poll", "--once")
    assert result.code == 2
    assert result.err.count("\n") == 1 and "config/followup.toml" in result.err
    assert "Traceback" not in result.err


def test_a_bad_key_exits_2_naming_it(followup, tmp_path):
    path = tmp_path / "f.toml"
    path.write_text("[database]\nurl = 5\n")
    result = followup("matches", "--config", str(path))
    assert result.code == 2 and "database.url" in result.err and result.err.count("\n") == 1


def test_an_unreadable_seed_exits_2_naming_the_file(followup, write_config, tmp_path):
    config = write_config(seeds=[{"id": "s", "article": str(tmp_path / "nope.txt")}])
    result = followup("poll", "--once", "--config", str(config))
    assert result.code == 2 and "nope.txt" in result.err and result.err.count("\n") == 1


def test_config_flag_works_before_and_after_the_subcommand(followup, write_config):
    config = write_config()
    before = followup("--config", str(config), "matches", "--format", "json")
    after = followup("matches", "--format", "json", "--config", str(config))
    assert before.code == after.code == 0
    assert json.loads(before.out) == json.loads(after.out) == []


def test_every_declared_setting_has_help_text():
    assert all(setting.help for setting in SETTINGS)
    assert len({setting.key for setting in SETTINGS}) == len(SETTINGS)


def test_the_shipped_seed_files_exist():
    assert SEED_ARTICLE.is_file() and SEED_PROFILE.is_file()
