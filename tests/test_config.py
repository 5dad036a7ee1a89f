"""Configuration: defaults, TOML, environment overrides, refusal of unsafe settings."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from mailer.config import Config, ConfigError, effective_secret_key, load_config

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
GOOD_KEY = "k" * 48


def test_no_file_gives_dev_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config.service.dev_mode
    assert config.database_url == "sqlite:///var/convene.db"
    assert (config.inbound.host, config.inbound.port) == ("127.0.0.1", 8025)
    assert (config.web.host, config.web.port) == ("127.0.0.1", 8000)
    assert config.delivery.backend == "maildir" and config.maildir_path == Path("var/mailbox")


def test_example_documents_every_key_with_its_default() -> None:
    """config.example.toml and the Config dataclasses must agree, key for key."""
    example = tomllib.loads(EXAMPLE.read_text())
    defaults = dataclasses.asdict(Config())
    defaults.pop("source")

    def walk(doc: dict, dflt: dict, where: str) -> None:
        assert set(doc) == set(dflt), f"[{where}] keys differ: {set(doc) ^ set(dflt)}"
        for key, value in dflt.items():
            if isinstance(value, dict):
                walk(doc[key], value, f"{where}.{key}")
            elif (where, key) not in {
                ("config.service", "dev_mode"),
                ("config.service", "secret_key"),
            }:
                assert doc[key] == value, (
                    f"[{where}] {key}: example {doc[key]!r} != default {value!r}"
                )

    walk(example, defaults, "config")


def test_example_file_is_refused_until_the_secret_is_set() -> None:
    with pytest.raises(ConfigError, match="placeholder"):
        load_config(EXAMPLE, environ={})
    config = load_config(EXAMPLE, environ={"CONVENE_SECRET_KEY": GOOD_KEY})
    assert config.service.secret_key == GOOD_KEY and not config.service.dev_mode


def test_a_config_file_means_production_unless_it_says_dev_mode(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[web]\nport = 9000\n")
    with pytest.raises(ConfigError, match="no secret key"):
        load_config(path, environ={})
    path.write_text("[service]\ndev_mode = true\n")
    assert load_config(path, environ={}).service.dev_mode


def test_missing_or_short_secret_outside_dev_mode(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[service]\ndev_mode = false\n")
    with pytest.raises(ConfigError, match="no secret key"):
        load_config(path, environ={})
    with pytest.raises(ConfigError, match="too short"):
        load_config(path, environ={"CONVENE_SECRET_KEY": "short"})


def test_the_placeholder_or_a_short_key_is_refused_in_dev_mode_too(tmp_path: Path) -> None:
    from mailer.config import EXAMPLE_SECRET_KEY
    from mailer.doctor import check_secret

    path = tmp_path / "c.toml"
    path.write_text(f'[service]\ndev_mode = true\nsecret_key = "{EXAMPLE_SECRET_KEY}"\n')
    with pytest.raises(ConfigError, match="placeholder"):
        load_config(path, environ={})
    with pytest.raises(ConfigError, match="too short"):
        load_config(path, environ={"CONVENE_SECRET_KEY": "short"})
    path.write_text("[service]\ndev_mode = true\n")
    config = load_config(path, environ={})
    assert check_secret(config).ok and "generated" in check_secret(config).detail
    good = load_config(path, environ={"CONVENE_SECRET_KEY": GOOD_KEY})
    assert check_secret(good).ok


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[service]\ndev_mode = true\n[database]\nurl = "sqlite:///file.db"\n[delivery]\nbackend = '
        '"smtp"\n'
        '[delivery.smarthost]\nhost = "smtp.example.org"\npassword = "from-file"\n'
    )
    config = load_config(
        path,
        environ={
            "CONVENE_DATABASE_URL": "postgresql://db/convene",
            "CONVENE_SMARTHOST_PASSWORD": "from-env",
        },
    )
    assert config.database_url == "postgresql://db/convene"
    assert config.delivery.smarthost.password == "from-env"
    assert config.delivery.smarthost.host == "smtp.example.org"


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[service]\ndev_mode = true\n[web]\nport = 9000\n")
    assert load_config(environ={"CONVENE_CONFIG": str(path)}).web.port == 9000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[web]\nport = 'eighty'\n", "whole number"),
        ("[web]\nbogus = 1\n", "unknown setting"),
        ("[nonsense]\n", r"unknown section \[nonsense\]"),
        ("[delivery]\nbackend = 'pigeon'\n", "backend"),
        ("[delivery]\nbackend = 'smtp'\n", "host is empty"),
        ("[mail]\ndomain = 'a@b'\n", "bare domain"),
        ("[inbound]\nreply_languages = 'en, klingon'\n", "reply_languages: klingon not known"),
        ("[worker]\nmessages_per_transaction = 0\n", "messages_per_transaction must be 1"),
        ("this is = = not toml", "not valid TOML"),
    ],
)
def test_bad_settings_get_clear_messages(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        text
        + (
            "\n[service]\ndev_mode = true\n"
            if "[service]" not in text and "toml" not in text
            else ""
        )
    )
    with pytest.raises(ConfigError, match=message):
        load_config(path, environ={})


def test_languages_read_for_out_of_office_replies_only_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[service]\ndev_mode = true\n[inbound]\nreply_languages = 'de, cy, pt'\n")
    assert load_config(path, environ={}).inbound.reply_language_codes == ("en", "de", "cy", "pt")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[web]\nport = "eighty"\n', "[web] port must be a whole number, not 'eighty'"),
        ("[web]\nbogus = 1\n", "unknown setting [web] bogus"),
        ("bogus = 1\n", "unknown setting bogus"),
        ("[bogus]\nkey = 1\n", "unknown section [bogus]"),
        ("[delivery.bogus]\n", "unknown section [delivery.bogus]"),
        (
            '[delivery.smarthost]\nport = "x"\n',
            "[delivery.smarthost] port must be a whole number, not 'x'",
        ),
        ("[delivery.smarthost]\nbogus = 1\n", "unknown setting [delivery.smarthost] bogus"),
        ("[delivery]\nsmarthost = 3\n", "[delivery.smarthost] must be a table"),
        ("web = 3\n", "[web] must be a table"),
        ("organisations = 3\n", '[organisations] must be a table of "domain" = "name" strings'),
    ],
)
def test_a_message_names_the_setting_as_the_file_writes_it(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text + "\n[service]\ndev_mode = true\n")
    with pytest.raises(ConfigError) as refused:
        load_config(path, environ={})
    assert str(refused.value) == message


def test_the_documented_error_is_the_one_convene_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import run

    docs = (EXAMPLE.parent / "docs" / "configuration.md").read_text(encoding="utf-8")
    [documented] = re.findall(r"`(convene: configuration error: [^`]+)`", docs)
    path = tmp_path / "c.toml"
    path.write_text('[service]\ndev_mode = true\n[web]\nport = "eighty"\n')
    monkeypatch.setenv("CONVENE_CONFIG", str(path))
    assert run("list", "show") == (2, "", documented + "\n")


def test_missing_file_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config("/nonexistent/convene.toml", environ={})


def test_dev_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    config = load_config(environ={}).replace(service={"data_dir": str(tmp_path)})
    first = effective_secret_key(config)
    assert len(first) >= 48 and effective_secret_key(config) == first
    assert (tmp_path / "dev-secret-key").stat().st_mode & 0o077 == 0


def test_readme_names_the_config_documentation() -> None:
    readme = (EXAMPLE.parent / "README.md").read_text()
    assert re.search(r"config\.example\.toml", readme)
