"""The console script end to end on a fake transport: outputs, exit codes, one-line errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

from labdock import cli
from labdock.errors import ConfigError, RegistryAuthError

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # An empty client.json: the system CA store, and nothing read from a real deployment.
    (tmp_path / "client.json").write_text("{}")
    for name, value in {
        "LABDOCK_REGISTRY_URL": "https://registry.test:5000",
        "LABDOCK_REGISTRY_USER": "alice",
        "LABDOCK_REGISTRY_PASSWORD": "secret",
        "LABDOCK_CONFIG": str(tmp_path / "client.json"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LABDOCK_CA_CERT", raising=False)


@pytest.fixture
def populated(fake_registry, env):
    fake_registry.repositories = {"web": {"1": B}, "api": {"latest": A, "1.0": A}, "empty": {}}
    return fake_registry


def test_catalog_json_is_sorted_and_stable(populated, capsys) -> None:
    assert cli.main(["catalog", "--json", "--workers", "3"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert json.loads(out) == {
        "registry": "https://registry.test:5000",
        "repositories": [
            {"name": "api", "tags": [{"tag": "1.0", "digest": A}, {"tag": "latest", "digest": A}]},
            {"name": "empty", "tags": []},
            {"name": "web", "tags": [{"tag": "1", "digest": B}]},
        ],
    }


def test_catalog_table(populated, capsys) -> None:
    assert cli.main(["catalog"]) == 0
    out, _ = capsys.readouterr()
    assert "3 repositories, 3 tags" in out
    assert "(no tags)" in out
    # Short digests as crane shows them: one line per tag; --json keeps the full digest.
    assert out.count("sha256:" + "a" * 12 + " ") == 2
    assert "a" * 13 not in out


def test_help_lists_the_connection_flags(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--url", "--user", "--password-file", "--password", "--ca-cert"):
        assert f"\n  {flag} " in out


def test_malformed_json_expect_file_is_one_line(populated, capsys, tmp_path: Path) -> None:
    expected = tmp_path / "expected.json"
    expected.write_text('[\n  {"repository": "web", "tag": "1",}\n]\n')
    assert cli.main(["catalog", "--expect", str(expected)]) == 2
    assert capsys.readouterr().err == (
        f"labdock: expectations file {expected} is not valid JSON: "
        "Expecting property name enclosed in double quotes at line 2, column 36\n"
    )


def test_ca_cert_that_is_no_certificate_is_one_line(populated, capsys, monkeypatch) -> None:
    monkeypatch.setenv("LABDOCK_CA_CERT", "/etc/hostname")
    assert cli.main(["health", "registry"]) == 2
    assert capsys.readouterr().err == (
        "labdock: CA certificate /etc/hostname (LABDOCK_CA_CERT) holds no usable PEM "
        "certificate: no certificate or crl found\n"
    )


def test_expect_failure_exits_1_naming_each_problem(populated, capsys, tmp_path: Path) -> None:
    expected = tmp_path / "e.yml"
    expected.write_text(
        f"- {{repository: api, tag: latest, digest: '{A}'}}\n"
        "- {repository: api, tag: '2.0'}\n"
        f"- {{repository: web, tag: '1', digest: '{A}'}}\n"
    )
    junit = tmp_path / "j.xml"
    assert cli.main(["catalog", "--expect", str(expected), "--junit", str(junit)]) == 1
    err = capsys.readouterr().err
    assert err == (
        "labdock: 2 of 3 checks failed: api:2.0: missing; "
        f"web:1: digest differs: registry has {B}, expected {A}\n"
    )
    cases = ET.parse(junit).getroot().iter("testcase")
    assert [(c.get("name"), c.find("failure") is not None) for c in cases] == [
        ("api:latest", False),
        ("api:2.0", True),
        ("web:1", True),
    ]


def test_expect_all_present_exits_0(populated, capsys, tmp_path: Path) -> None:
    expected = tmp_path / "e.json"
    expected.write_text(json.dumps([{"repository": "web", "tag": "1", "digest": B}]))
    assert cli.main(["catalog", "--json", "--expect", str(expected)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is True
    assert document["checks"] == [{"name": "web:1", "ok": True, "detail": f"present ({B})"}]


def test_junit_without_expect_is_a_usage_error(populated, capsys, tmp_path: Path) -> None:
    assert cli.main(["catalog", "--junit", str(tmp_path / "j.xml")]) == 2
    assert capsys.readouterr().err.startswith("labdock: --junit needs --expect")


def test_bad_credentials_on_catalog(populated, capsys, monkeypatch) -> None:
    monkeypatch.setenv("LABDOCK_REGISTRY_PASSWORD", "wrong")
    assert cli.main(["catalog"]) == 2
    assert capsys.readouterr().err == (
        "labdock: registry at https://registry.test:5000 rejected the credentials "
        "for user alice (401)\n"
    )


@pytest.mark.parametrize(
    ("raised", "code", "line"),
    [
        (ConfigError("config file x is not valid JSON"), 2, "config file x is not valid JSON"),
        (RegistryAuthError("rejected"), 2, "rejected"),
        (
            requests.ConnectionError(
                ConnectionRefusedError(111, "Connection refused"),
                request=requests.Request("GET", "https://r:5000/v2/").prepare(),
            ),
            2,
            "cannot reach https://r:5000/v2/: Connection refused",
        ),
        (KeyboardInterrupt(), 130, "interrupted"),
        (
            FileNotFoundError(2, "No such file or directory", "e.yml"),
            2,
            "e.yml: No such file or directory",
        ),
        (ValueError("boom"), 2, "unexpected ValueError: boom (LABDOCK_DEBUG=1 shows where)"),
    ],
)
def test_failures_map_to_exit_codes_and_one_line(
    monkeypatch, capsys, env, raised: BaseException, code: int, line: str
) -> None:
    def explode(_args: object) -> int:
        raise raised

    monkeypatch.setattr("labdock.commands.catalog.run", explode)
    assert cli.main(["catalog"]) == code
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"labdock: {line}\n"


def test_usage_error_is_one_line(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["catalog", "--workers", "0"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("labdock: argument --workers: 0 is not at least 1")


def test_every_registered_command_has_a_runner() -> None:
    parser = cli.build_parser()
    assert parser.parse_args(["catalog"]).run is not None
    assert parser.parse_args(["health", "registry"]).run is not None
