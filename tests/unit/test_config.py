"""Settings precedence: flags > env > client.json > defaults, setting by setting."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from labdock import config
from labdock.config import add_connection_arguments, resolve, settings_from_args
from labdock.errors import ConfigError


@pytest.fixture
def client_json(tmp_path: Path) -> Path:
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_text("file CA")
    path = tmp_path / "client.json"
    path.write_text(
        json.dumps(
            {
                "url": "https://file:5000",
                "username": "file-user",
                "password": "file-pw",
                "ca_cert": "pki/ca.crt",
            }
        )
    )
    return path


def test_file_supplies_everything(client_json: Path) -> None:
    settings = resolve({}, {"LABDOCK_CONFIG": str(client_json)})
    assert settings.url == "https://file:5000"
    assert settings.credentials == ("file-user", "file-pw")
    # Relative to client.json, not to the working directory.
    assert settings.ca_cert == client_json.parent / "pki" / "ca.crt"


def test_env_beats_file_and_flags_beat_env(client_json: Path, tmp_path: Path) -> None:
    env = {
        "LABDOCK_CONFIG": str(client_json),
        "LABDOCK_REGISTRY_URL": "https://env:5000",
        "LABDOCK_REGISTRY_USER": "env-user",
    }
    settings = resolve({"url": "https://flag:5000"}, env)
    assert settings.url == "https://flag:5000"
    assert settings.username == "env-user"
    assert settings.password == "file-pw"


def test_defaults_when_nothing_is_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(config, "DEFAULT_CONFIG_PATH", tmp_path / "absent.json")
    settings = resolve({}, {})
    assert settings == config.Settings("https://localhost:5000", None, None, None)


def test_explicit_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve({}, {"LABDOCK_CONFIG": str(tmp_path / "absent.json")})


def test_file_not_read_when_flags_and_env_cover_everything(tmp_path: Path) -> None:
    broken = tmp_path / "client.json"
    broken.write_text("{not json")
    ca = tmp_path / "ca.crt"
    ca.write_text("CA")
    flags = {"url": "https://flag:5000", "username": "u", "password": "p", "ca_cert": ca}
    assert resolve(flags, {"LABDOCK_CONFIG": str(broken)}).url == "https://flag:5000"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "must hold a JSON object"),
        ('{"url": "https://x", "token": "t"}', "unknown keys: token"),
    ],
)
def test_bad_config_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "client.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        resolve({}, {"LABDOCK_CONFIG": str(path)})


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"url": "localhost:5000"}, "must look like https://host:port"),
        ({"username": "u"}, "no password given"),
        ({"password": "p"}, "no user given"),
        ({"ca_cert": Path("/nonexistent/ca.crt")}, "does not exist"),
    ],
)
def test_invalid_settings(tmp_path: Path, flags: dict, message: str) -> None:
    env = {"LABDOCK_CONFIG": str(tmp_path / "c.json")}
    (tmp_path / "c.json").write_text("{}")
    with pytest.raises(ConfigError, match=message):
        resolve(flags, env)


def test_password_file_flag_reads_first_line(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret\nignored\n")
    parser = argparse.ArgumentParser()
    add_connection_arguments(parser)
    args = parser.parse_args(["--user", "bob", "--password-file", str(secret)])
    env = {"LABDOCK_CONFIG": str(tmp_path / "c.json"), "LABDOCK_REGISTRY_PASSWORD": "env-pw"}
    (tmp_path / "c.json").write_text("{}")
    assert settings_from_args(args, env).credentials == ("bob", "s3cret")
