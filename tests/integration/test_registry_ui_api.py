"""The v2 calls the Joxit UI makes work against our registry config: catalog with n=,
tag lists, manifests of all four types with their digests, and delete by digest. With token
auth the UI answers each Bearer challenge as a browser would: Basic credentials to the realm
for the challenge's scope, then the request again with the token (UiTokenAuth)."""

from __future__ import annotations

import hashlib
import re
import secrets

import pytest
import requests

from labdock.registry import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    RegistryClient,
)
from tests.harness.populate import TinyImage
from tests.harness.registry import ThrowawayRegistry

pytestmark = pytest.mark.integration


@pytest.fixture
def ui_repository(registry_client: RegistryClient, tiny_image: TinyImage) -> tuple[str, dict]:
    """A repository with one tag per manifest type; returns (name, tag -> (type, digest)).
    Single manifests go first: the registry checks that an index's children exist."""
    repository = f"ui/{secrets.token_hex(4)}"
    tiny_image.upload(registry_client, repository)
    documents = {
        "docker": tiny_image.manifest(DOCKER_MANIFEST),
        "oci": tiny_image.manifest(OCI_MANIFEST),
        "list": tiny_image.index(DOCKER_MANIFEST_LIST),
        "index": tiny_image.index(OCI_INDEX),
    }
    pushed = {
        tag: (doc["mediaType"], registry_client.put_manifest(repository, tag, doc))
        for tag, doc in documents.items()
    }
    return repository, pushed


class UiTokenAuth(requests.auth.AuthBase):
    """On a 401 Bearer challenge: a token from the realm for its scope, and one retry."""

    def __init__(self, registry: ThrowawayRegistry) -> None:
        self.registry = registry

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.register_hook("response", self._answer_challenge)
        return request

    def _answer_challenge(self, response: requests.Response, **kwargs) -> requests.Response:
        challenge = dict(
            re.findall(r'(\w+)="([^"]*)"', response.headers.get("WWW-Authenticate", ""))
        )
        if response.status_code != 401 or "realm" not in challenge:
            return response
        token = requests.get(
            challenge["realm"],
            params={"service": challenge.get("service"), "scope": challenge.get("scope")},
            auth=self.registry.settings.credentials,
            verify=str(self.registry.certs.ca_cert),
            timeout=10,
        ).json()["token"]
        retry = response.request.copy()
        retry.headers["Authorization"] = f"Bearer {token}"
        return response.connection.send(retry, **kwargs)


def _get(registry: ThrowawayRegistry, path: str, **kwargs) -> requests.Response:
    return requests.get(
        registry.url + path,
        auth=UiTokenAuth(registry),
        verify=str(registry.certs.ca_cert),
        timeout=10,
        **kwargs,
    )


def test_catalog_and_tags_as_the_ui_asks(
    registry: ThrowawayRegistry, ui_repository: tuple[str, dict]
) -> None:
    repository, pushed = ui_repository
    # Page by page, as the UI does with CATALOG_ELEMENTS_LIMIT: other tests may have filled
    # the registry past one page.
    listed: list[str] = []
    path: str | None = "/v2/_catalog?n=1000"
    while path is not None:
        page = _get(registry, path)
        assert page.status_code == 200
        assert len(page.json()["repositories"]) <= 1000
        listed += page.json()["repositories"]
        path = page.links.get("next", {}).get("url")
    assert repository in listed
    tags = _get(registry, f"/v2/{repository}/tags/list")
    assert tags.status_code == 200
    assert sorted(tags.json()["tags"]) == sorted(pushed)


@pytest.mark.parametrize("tag", ["docker", "oci", "list", "index"])
def test_manifest_of_each_type_carries_its_digest(
    registry: ThrowawayRegistry, ui_repository: tuple[str, dict], tag: str
) -> None:
    repository, pushed = ui_repository
    media_type, digest = pushed[tag]
    response = _get(registry, f"/v2/{repository}/manifests/{tag}", headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == media_type
    assert response.headers["Docker-Content-Digest"] == digest
    assert "sha256:" + hashlib.sha256(response.content).hexdigest() == digest


def test_delete_by_digest_answers_202_and_the_tag_goes(
    registry: ThrowawayRegistry, ui_repository: tuple[str, dict]
) -> None:
    repository, pushed = ui_repository
    _, digest = pushed["index"]
    deleted = requests.delete(
        f"{registry.url}/v2/{repository}/manifests/{digest}",
        auth=UiTokenAuth(registry),
        verify=str(registry.certs.ca_cert),
        timeout=10,
    )
    assert deleted.status_code == 202
    tags = _get(registry, f"/v2/{repository}/tags/list").json()["tags"]
    assert sorted(tags) == ["docker", "list", "oci"]
    gone = _get(registry, f"/v2/{repository}/manifests/index", headers={"Accept": OCI_INDEX})
    assert gone.status_code == 404
