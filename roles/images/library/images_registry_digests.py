#!/usr/bin/python
# Why a module of our own: the role must know the registry's manifest digest of every tag
# it publishes (about thirty) on every run, even when nothing changed. A loop of
# ansible.builtin.uri costs one module run per tag; this asks for all of them in one run,
# a few at a time. Read-only (HEAD requests).

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.error import HTTPError

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

DOCUMENTATION = r"""
---
module: images_registry_digests
short_description: Manifest digests of tags in a Docker registry (v2 API)
description:
  - Sends C(HEAD /v2/<name>/manifests/<tag>) for each of O(refs) and returns the
    C(Docker-Content-Digest) the registry answers, or an empty string when it has no such tag.
  - Read-only; never reports a change.
options:
  url:
    description: Registry base URL, for example V(https://localhost:5000).
    type: str
    required: true
  username:
    description: Registry account (HTTP basic auth).
    type: str
    required: true
  password:
    description: Its password.
    type: str
    required: true
    no_log: true
  ca_path:
    description: CA bundle that signs the registry certificate.
    type: path
  refs:
    description: Tags to look up, each V(<name>:<tag>).
    type: list
    elements: str
    required: true
  timeout:
    description: Seconds to wait for each answer.
    type: int
    default: 30
"""

RETURN = r"""
digests:
  description: Digest by O(refs) item; an empty string when the registry lacks the tag.
  type: dict
  returned: always
"""

_MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)
# The registry checks a bcrypt hash on every request: a few at a time overlap that work
# without queuing dozens of them on a small registry host.
_PARALLEL = 4


def manifest_digest(params: dict, ref: str) -> str:
    name, _, tag = ref.rpartition(":")
    try:
        response = open_url(
            f"{params['url'].rstrip('/')}/v2/{name}/manifests/{tag}",
            method="HEAD",
            headers={"Accept": _MANIFEST_TYPES},
            url_username=params["username"],
            url_password=params["password"],
            force_basic_auth=True,
            ca_path=params["ca_path"],
            timeout=params["timeout"],
        )
    except HTTPError as exc:
        if exc.code == 404:
            return ""
        raise
    return response.headers.get("Docker-Content-Digest", "")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "username": {"type": "str", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
            "ca_path": {"type": "path"},
            "refs": {"type": "list", "elements": "str", "required": True},
            "timeout": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    refs = module.params["refs"]
    try:
        with ThreadPoolExecutor(max_workers=_PARALLEL) as pool:
            digests = list(pool.map(lambda ref: manifest_digest(module.params, ref), refs))
    except (HTTPError, OSError) as exc:
        module.fail_json(msg=f"cannot read tag digests from {module.params['url']}: {exc}")
    module.exit_json(changed=False, digests=dict(zip(refs, digests, strict=True)))


if __name__ == "__main__":
    main()
