"""The registry's accounts (role registry_accounts, run by the registry play) over several
runs: adding, resetting and removing a student, a rerun that changes nothing, and a lab that
ran htpasswd moving to tokens without losing its images or its admin password."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import requests

from labdock.registry import RegistryClient
from tests.conftest import CLASS
from tests.harness.populate import TinyImage
from tests.harness.registry import ThrowawayRegistry

pytestmark = pytest.mark.integration


def _changed(result: subprocess.CompletedProcess[str]) -> int:
    recap = re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)", result.stdout)
    assert recap is not None, result.stdout[-2000:]
    return int(recap.group(1))


def _token_status(registry: ThrowawayRegistry, user: str, password: str) -> int:
    response = requests.get(
        registry.realm, auth=(user, password), verify=str(registry.certs.ca_cert), timeout=10
    )
    return response.status_code


def test_add_reset_remove_a_student_then_a_rerun_changes_nothing(
    registry: ThrowawayRegistry,
) -> None:
    carol_before = registry.account_password("carol")
    registry.deploy(registry_students=[*CLASS, "dave"], registry_students_reset=["carol"])
    dave = registry.account_password("dave")
    assert _token_status(registry, "dave", dave) == 200
    assert registry.account_password("carol") != carol_before
    assert _token_status(registry, "carol", carol_before) == 401

    dave_file = Path(registry.accounts_index()["accounts"][-1]["password_file"])
    registry.deploy()
    assert not dave_file.exists()
    assert "dave" not in [a["name"] for a in registry.accounts_index()["accounts"]]
    assert _token_status(registry, "dave", dave) == 401

    assert _changed(registry.deploy()) == 0


def test_a_lab_on_htpasswd_moves_to_tokens_keeping_images_and_password(
    tmp_path: Path, tiny_image: TinyImage
) -> None:
    with ThrowawayRegistry(tmp_path, auth="htpasswd") as lab:
        password = lab.password
        with RegistryClient(lab.settings) as admin:
            tiny_image.upload(admin, "kept")
            digest = admin.put_manifest("kept", "1.0", tiny_image.manifest())
            assert not admin.tokens.active

        lab.auth = "token"
        lab.deploy()
        assert lab.password == password
        with RegistryClient(lab.settings) as admin:
            assert admin.catalog() == ["kept"]
            assert admin.manifest_digest("kept", "1.0") == digest
            assert admin.tokens.active
        assert _changed(lab.deploy()) == 0
