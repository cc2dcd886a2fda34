"""Settings precedence: flags > env > client.json > defaults, setting by setting."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from labdock import config
from labdock.config import add_connection_arguments, resolve, settings_from_args
from labdock.errors import ConfigError
from tests.harness.pki import make_ca_and_server_cert
from tests.harness.playbooks import group_vars


@pytest.fixture(scope="module")
def ca_pem(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real PEM CA certificate: the settings load the CA file as ssl will."""
    return make_ca_and_server_cert(tmp_path_factory.mktemp("pki")).ca_cert.read_text()


@pytest.fixture
def client_json(tmp_path: Path, ca_pem: str) -> Path:
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_text(ca_pem)
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
    # The lab registry as group_vars defines it, where the plays deploy it.
    lab = group_vars()
    url = f"https://{lab['labdock_registry_host']}:{lab['labdock_registry_port']}"
    assert settings == config.Settings(url, None, None, None)


def test_client_json_is_where_group_vars_puts_the_state() -> None:
    assert Path(group_vars()["labdock_state_dir"]) / "client.json" == config.DEFAULT_CONFIG_PATH


def test_no_url_anywhere_is_said_not_guessed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A lab host's copy of the package: no group_vars, and a client.json without a URL.
    monkeypatch.setattr(config, "DEFAULT_URL", None)
    (tmp_path / "client.json").write_text("{}")
    with pytest.raises(ConfigError, match="no registry URL: give --url"):
        resolve({}, {"LABDOCK_CONFIG": str(tmp_path / "client.json")})


def test_project_prefix_from_client_json_then_group_vars(tmp_path: Path) -> None:
    path = tmp_path / "client.json"
    path.write_text(json.dumps({"url": "https://r:1", "project_prefix": "course-"}))
    assert config.lab_project_prefix({"LABDOCK_CONFIG": str(path)}) == "course-"
    path.write_text(json.dumps({"url": "https://r:1"}))
    expected = group_vars()["labdock_project_prefix"]
    assert config.lab_project_prefix({"LABDOCK_CONFIG": str(path)}) == expected


def test_no_project_prefix_anywhere_names_the_flag(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(config, "group_vars", dict)
    path = tmp_path / "client.json"
    path.write_text(json.dumps({"url": "https://r:1"}))
    with pytest.raises(ConfigError, match=r"give --project-prefix, or run site\.yml"):
        config.lab_project_prefix({"LABDOCK_CONFIG": str(path)})


def test_explicit_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve({}, {"LABDOCK_CONFIG": str(tmp_path / "absent.json")})


def test_file_not_read_when_flags_and_env_cover_everything(tmp_path: Path, ca_pem: str) -> None:
    broken = tmp_path / "client.json"
    broken.write_text("{not json")
    ca = tmp_path / "ca.crt"
    ca.write_text(ca_pem)
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


@pytest.mark.parametrize(
    ("flags", "env_name", "source"),
    [
        ({}, "LABDOCK_CA_CERT", "LABDOCK_CA_CERT"),
        ({"ca_cert": "FILE"}, None, "--ca-cert"),
    ],
)
def test_ca_cert_without_a_certificate_names_the_file_and_the_setting(
    tmp_path: Path, flags: dict, env_name: str | None, source: str
) -> None:
    not_a_cert = tmp_path / "hostname"
    not_a_cert.write_text("lab-host-1\n")
    (tmp_path / "c.json").write_text("{}")
    env = {"LABDOCK_CONFIG": str(tmp_path / "c.json")}
    if env_name:
        env[env_name] = str(not_a_cert)
    flags = {name: not_a_cert if value == "FILE" else value for name, value in flags.items()}
    with pytest.raises(ConfigError) as raised:
        resolve(flags, env)
    assert str(raised.value) == (
        f"CA certificate {not_a_cert} ({source}) holds no usable PEM certificate: "
        "no certificate or crl found"
    )


def test_ca_cert_from_client_json_is_named_with_its_key(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("not a certificate\n")
    path = tmp_path / "client.json"
    path.write_text(json.dumps({"ca_cert": "ca.crt"}))
    with pytest.raises(ConfigError, match=rf"\(ca_cert in {path}\) holds no usable PEM"):
        resolve({}, {"LABDOCK_CONFIG": str(path)})
