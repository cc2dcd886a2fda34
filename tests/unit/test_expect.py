"""Reading expectation files and comparing them with a catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from labdock.catalog import Repository, TagEntry
from labdock.checks import CheckResult
from labdock.errors import ConfigError
from labdock.expect import Expectation, compare, load

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
CATALOG = [Repository("api", (TagEntry("1.0", A), TagEntry("latest", A)))]


def test_yaml_and_json_load_alike(tmp_path: Path) -> None:
    yaml_file = tmp_path / "e.yml"
    yaml_file.write_text(f"- repository: api\n  tag: '1.0'\n  digest: '{A}'\n")
    json_file = tmp_path / "e.json"
    json_file.write_text(f'[{{"repository": "api", "tag": "1.0", "digest": "{A}"}}]')
    assert load(yaml_file) == load(json_file) == [Expectation("api", "1.0", A)]


def test_malformed_yaml_is_one_line_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "e.yml"
    path.write_text("- repository: api\n  tag: [1.0\n")
    with pytest.raises(ConfigError) as raised:
        load(path)
    assert str(raised.value) == (
        f"expectations file {path} is not valid YAML: "
        "expected ',' or ']', but got '<stream end>' at line 3, column 1"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("repository: api", "must hold a list"),
        ("- repository: api\n  tag: 1.10", "quote tags"),
        ("- {repository: api, tag: x, digest: md5:1}", "sha256"),
        ("- {repository: api, tag: x, colour: red}", "unknown keys colour"),
        ("- [api, x]", "must be a mapping"),
    ],
)
def test_bad_expectations_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "e.yml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load(path)


def test_compare_reports_missing_and_differing() -> None:
    expected = [
        Expectation("api", "1.0", A),
        Expectation("api", "latest"),
        Expectation("api", "2.0"),
        Expectation("web", "1.0"),
        Expectation("api", "latest", B),
    ]
    assert compare(expected, CATALOG) == [
        CheckResult("api:1.0", True, f"present ({A})"),
        CheckResult("api:latest", True, f"present ({A})"),
        CheckResult("api:2.0", False, "missing"),
        CheckResult("web:1.0", False, "missing"),
        CheckResult("api:latest", False, f"digest differs: registry has {A}, expected {B}"),
    ]
