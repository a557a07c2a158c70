"""Settings from LABELLOOP_* variables: defaults, paths, and the exact message for a bad value."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from labeling.config import PROJECT_ROOT, ConfigError, Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_project_root_is_the_repository() -> None:
    assert PROJECT_ROOT == REPO_ROOT
    assert (PROJECT_ROOT / "labeling" / "config.py").is_file()


def test_defaults_use_sqlite_under_the_data_dir() -> None:
    assert load_settings({}) == Settings(
        database_url=f"sqlite:///{REPO_ROOT / 'data' / 'labelloop.db'}",
        data_dir=REPO_ROOT / "data",
        trust_source_tags=True,
        max_sign_in_failures=5,
        lockout_seconds=60,
        max_text_chars=20_000,
        max_import_bytes=200 * 1024 * 1024,
    )


def test_an_explicit_env_ignores_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELLOOP_DATABASE_URL", "postgresql://elsewhere/db")
    monkeypatch.setenv("LABELLOOP_LOCKOUT_SECONDS", "5")
    settings = load_settings({})
    assert settings.database_url == f"sqlite:///{REPO_ROOT / 'data' / 'labelloop.db'}"
    assert settings.lockout_seconds == 60


def test_without_an_env_the_process_environment_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LABELLOOP_DATABASE_URL", "sqlite:///" + str(tmp_path / "x.db"))
    monkeypatch.setenv("LABELLOOP_LOCKOUT_SECONDS", "5")
    settings = load_settings()
    assert settings.database_url == "sqlite:///" + str(tmp_path / "x.db")
    assert settings.lockout_seconds == 5


def test_database_url_is_used_as_given() -> None:
    url = "postgresql+psycopg://labelloop:secret@db.internal:5432/labelloop"
    settings = load_settings({"LABELLOOP_DATABASE_URL": url})
    assert settings.database_url == url
    assert settings.data_dir == REPO_ROOT / "data"


def test_absolute_data_dir_moves_the_default_database(tmp_path: Path) -> None:
    settings = load_settings({"LABELLOOP_DATA_DIR": str(tmp_path)})
    assert settings.data_dir == tmp_path
    assert settings.database_url == f"sqlite:///{tmp_path / 'labelloop.db'}"


def test_relative_data_dir_is_resolved_against_the_project_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"LABELLOOP_DATA_DIR": "var/labelloop"})
    assert settings.data_dir == REPO_ROOT / "var" / "labelloop"
    assert settings.database_url == f"sqlite:///{REPO_ROOT / 'var' / 'labelloop' / 'labelloop.db'}"


def test_database_url_wins_over_data_dir(tmp_path: Path) -> None:
    settings = load_settings(
        {"LABELLOOP_DATA_DIR": str(tmp_path), "LABELLOOP_DATABASE_URL": "sqlite:///:memory:"}
    )
    assert (settings.database_url, settings.data_dir) == ("sqlite:///:memory:", tmp_path)


def test_empty_values_mean_the_defaults() -> None:
    env = {
        name: ""
        for name in (
            "LABELLOOP_DATABASE_URL",
            "LABELLOOP_DATA_DIR",
            "LABELLOOP_TRUST_SOURCE_TAGS",
            "LABELLOOP_MAX_SIGN_IN_FAILURES",
            "LABELLOOP_LOCKOUT_SECONDS",
            "LABELLOOP_MAX_TEXT_CHARS",
            "LABELLOOP_MAX_IMPORT_BYTES",
        )
    }
    assert load_settings(env) == load_settings({})


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "yes", "Yes", "on", " on "])
def test_true_booleans(raw: str) -> None:
    assert load_settings({"LABELLOOP_TRUST_SOURCE_TAGS": raw}).trust_source_tags is True


@pytest.mark.parametrize("raw", ["0", "false", "False", "no", "NO", "off", " off "])
def test_false_booleans(raw: str) -> None:
    assert load_settings({"LABELLOOP_TRUST_SOURCE_TAGS": raw}).trust_source_tags is False


def test_whole_numbers_are_read() -> None:
    settings = load_settings(
        {
            "LABELLOOP_MAX_SIGN_IN_FAILURES": "3",
            "LABELLOOP_LOCKOUT_SECONDS": "900",
            "LABELLOOP_MAX_TEXT_CHARS": "500",
            "LABELLOOP_MAX_IMPORT_BYTES": "1048576",
        }
    )
    assert (
        settings.max_sign_in_failures,
        settings.lockout_seconds,
        settings.max_text_chars,
        settings.max_import_bytes,
    ) == (3, 900, 500, 1_048_576)


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled"])
def test_bad_boolean_raises_config_error(raw: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({"LABELLOOP_TRUST_SOURCE_TAGS": raw})
    assert str(error.value) == (
        f"LABELLOOP_TRUST_SOURCE_TAGS={raw!r} is not a boolean "
        "(use 1/0, true/false, yes/no, on/off)"
    )


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("LABELLOOP_MAX_SIGN_IN_FAILURES", "ten"),
        ("LABELLOOP_LOCKOUT_SECONDS", "1.5"),
        ("LABELLOOP_MAX_TEXT_CHARS", "20k"),
        ("LABELLOOP_MAX_IMPORT_BYTES", "1e6"),
    ],
)
def test_non_integer_raises_config_error(name: str, raw: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({name: raw})
    assert str(error.value) == f"{name}={raw!r} is not a whole number"


@pytest.mark.parametrize("raw", ["0", "-1", "-60"])
def test_non_positive_integer_raises_config_error(raw: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({"LABELLOOP_LOCKOUT_SECONDS": raw})
    assert str(error.value) == f"LABELLOOP_LOCKOUT_SECONDS={raw!r} must be greater than 0"


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


def test_settings_are_frozen() -> None:
    settings = load_settings({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.lockout_seconds = 1  # type: ignore[misc]


def test_serving_defaults_to_the_evidence_backed_automatic_strategy() -> None:
    settings = load_settings({})
    assert (settings.strategy, settings.mix_share, settings.mix_with) == (
        "auto",
        0.2,
        "uncertainty",
    )


def test_mix_settings_are_read() -> None:
    settings = load_settings(
        {
            "LABELLOOP_STRATEGY": "label_errors_mix",
            "LABELLOOP_MIX_SHARE": "0.35",
            "LABELLOOP_MIX_WITH": "random",
        }
    )
    assert (settings.strategy, settings.mix_share, settings.mix_with) == (
        "label_errors_mix",
        0.35,
        "random",
    )


def test_unknown_mix_partner_raises_config_error() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({"LABELLOOP_MIX_WITH": "entropy"})
    assert str(error.value) == "LABELLOOP_MIX_WITH='entropy' must be one of: uncertainty, random"


def test_mix_share_outside_zero_to_one_raises_config_error() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({"LABELLOOP_MIX_SHARE": "1.5"})
    assert str(error.value) == "LABELLOOP_MIX_SHARE='1.5' must be between 0 and 1"
