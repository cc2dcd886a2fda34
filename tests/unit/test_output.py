"""Output formats: stable JSON, JUnit XML that CI tools read, tables that show failures."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console

from labdock import output
from labdock.catalog import Repository, TagEntry, collect
from labdock.checks import CheckResult, exit_code, failure_summary
from labdock.registry import RegistryClient

RESULTS = [CheckResult("reachable", True, "200"), CheckResult("tls", False, "expired")]


def render(renderable) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=120).print(renderable)
    return buffer.getvalue()


def test_json_keys_are_sorted(capsys) -> None:
    output.print_json({"b": 1, "a": {"d": 2, "c": 3}})
    assert capsys.readouterr().out == '{\n  "a": {\n    "c": 3,\n    "d": 2\n  },\n  "b": 1\n}\n'


def test_junit_counts_and_failures(tmp_path: Path) -> None:
    path = tmp_path / "r.xml"
    output.write_junit(path, "labdock.health.registry", RESULTS)
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == (
        "labdock.health.registry",
        "2",
        "1",
    )
    failure = root.find(".//testcase[@name='tls']/failure")
    assert failure is not None
    assert failure.get("message") == "expired"


def test_checks_table_marks_each_row() -> None:
    text = render(output.checks_table("registry", RESULTS))
    assert "registry: 1/2 passed" in text
    assert "PASS" in text
    assert "FAIL" in text


def test_exit_code_and_summary() -> None:
    assert exit_code(RESULTS) == 1
    assert exit_code(RESULTS[:1]) == 0
    assert failure_summary(RESULTS) == "1 of 2 checks failed: tls: expired"
    assert failure_summary(RESULTS[:1]) is None


def test_collect_sorts_and_skips_tags_deleted_midway(fake_registry, fake_settings) -> None:
    fake_registry.repositories = {"b": {"2": "sha256:2", "10": "sha256:10"}, "a": {"x": "d"}}
    original = fake_registry.send

    def delete_tag_10(request, **kwargs):
        # The tag list said "10" exists; by the time we ask for its digest it is gone.
        if request.method == "HEAD":
            fake_registry.repositories["b"].pop("10", None)
        return original(request, **kwargs)

    fake_registry.send = delete_tag_10
    with RegistryClient(fake_settings) as client:
        found = collect(client, workers=4)
    assert found == [
        Repository("a", (TagEntry("x", "d"),)),
        Repository("b", (TagEntry("2", "sha256:2"),)),
    ]
