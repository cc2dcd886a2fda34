"""RegistryClient against a fake transport: pagination, headers, errors."""

from __future__ import annotations

import pytest
import requests

from labdock.config import Settings
from labdock.errors import RegistryAuthError, RegistryError, RegistryNotFound
from labdock.registry import MANIFEST_TYPES, RegistryClient

DIGEST = "sha256:" + "a" * 64


def test_catalog_follows_link_header_across_pages(fake_registry, fake_settings) -> None:
    fake_registry.repositories = {f"r{i:04d}": {} for i in range(2501)}
    with RegistryClient(fake_settings) as client:
        assert client.catalog() == sorted(fake_registry.repositories)
    urls = [r.url for r in fake_registry.requests]
    assert urls == [
        "https://registry.test:5000/v2/_catalog?n=1000",
        "https://registry.test:5000/v2/_catalog?last=r0999&n=1000",
        "https://registry.test:5000/v2/_catalog?last=r1999&n=1000",
    ]


def test_catalog_follows_a_smaller_server_cap(fake_registry, fake_settings) -> None:
    fake_registry.page_cap = 2
    fake_registry.repositories = {"a": {}, "b": {}, "c": {}, "d": {}, "e": {}}
    with RegistryClient(fake_settings) as client:
        assert client.catalog() == ["a", "b", "c", "d", "e"]
    assert len(fake_registry.requests) == 3


def test_tags_are_paginated_too(fake_registry, fake_settings) -> None:
    fake_registry.page_cap = 3
    fake_registry.repositories = {"team/app": {f"v{i}": DIGEST for i in range(7)}}
    with RegistryClient(fake_settings) as client:
        assert client.tags("team/app") == [f"v{i}" for i in range(7)]
    assert len(fake_registry.requests) == 3


def test_manifest_digest_asks_for_all_four_types(fake_registry, fake_settings) -> None:
    fake_registry.repositories = {"app": {"1.0": DIGEST}}
    with RegistryClient(fake_settings) as client:
        assert client.manifest_digest("app", "1.0") == DIGEST
    sent = fake_registry.requests[-1]
    assert sent.method == "HEAD"
    assert sent.headers["Accept"].split(", ") == list(MANIFEST_TYPES)


def test_delete_manifest_by_digest(fake_registry, fake_settings) -> None:
    fake_registry.repositories = {"app": {"1.0": DIGEST, "latest": DIGEST}}
    with RegistryClient(fake_settings) as client:
        client.delete_manifest("app", DIGEST)
    assert fake_registry.requests[-1].method == "DELETE"
    assert fake_registry.requests[-1].url.endswith(f"/v2/app/manifests/{DIGEST}")
    assert fake_registry.repositories["app"] == {}


def test_unknown_tag_is_not_found(fake_registry, fake_settings) -> None:
    fake_registry.repositories = {"app": {}}
    with RegistryClient(fake_settings) as client, pytest.raises(RegistryNotFound):
        client.manifest_digest("app", "nope")


def test_rejected_credentials_name_the_user(fake_registry, fake_settings) -> None:
    fake_registry.credentials = ("alice", "other")
    with RegistryClient(fake_settings) as client, pytest.raises(RegistryAuthError) as caught:
        client.catalog()
    assert str(caught.value) == (
        "registry at https://registry.test:5000 rejected the credentials for user alice (401)"
    )


def test_missing_credentials_say_how_to_give_them(fake_registry) -> None:
    anonymous = Settings("https://registry.test:5000", None, None, None)
    with RegistryClient(anonymous) as client, pytest.raises(RegistryAuthError) as caught:
        client.catalog()
    assert "requires credentials (401)" in str(caught.value)


def test_connection_failure_becomes_one_readable_line(monkeypatch, fake_settings) -> None:
    def refuse(*_args: object, **_kwargs: object) -> requests.Response:
        cause = ConnectionRefusedError(111, "Connection refused")
        raise requests.ConnectionError(
            cause, request=requests.Request("GET", "https://x/").prepare()
        )

    monkeypatch.setattr(requests.Session, "request", refuse)
    with RegistryClient(fake_settings) as client, pytest.raises(RegistryError) as caught:
        client.catalog()
    assert str(caught.value) == "cannot reach https://x/: Connection refused"
