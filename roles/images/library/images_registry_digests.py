#!/usr/bin/python
# Why a module of our own: the role must know the registry's manifest digest of every tag
# it publishes (about thirty) on every run, even when nothing changed. A loop of
# ansible.builtin.uri costs one module run per tag; this asks for all of them in one run,
# a few at a time. Read-only (HEAD requests).

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from urllib.error import HTTPError
from urllib.parse import urlencode

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
    description: Registry base URL, for example V(https://registry.lab.example:5000).
    type: str
    required: true
  username:
    description:
      - Registry account: HTTP basic auth, or, when the registry answers with a Bearer
        challenge (token auth), the account that asks its token service for pull tokens.
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
# Repositories per token request: one token carries the pull scope of each.
_SCOPES_PER_TOKEN = 50


def bearer_challenge(params: dict) -> dict[str, str] | None:
    """The registry's Bearer challenge (realm, service), or None when it takes basic auth.
    A module ships alone to its host, so this small token flow cannot use labdock's client."""
    try:
        open_url(
            f"{params['url'].rstrip('/')}/v2/",
            ca_path=params["ca_path"],
            timeout=params["timeout"],
        )
        return None
    except HTTPError as exc:
        if exc.code != 401:
            raise
        header = exc.headers.get("WWW-Authenticate", "")
    if not header.lower().startswith("bearer "):
        return None
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def pull_tokens(params: dict, challenge: dict[str, str], names: list[str]) -> dict[str, str]:
    """A pull token for each repository, asked for in batches of scopes."""
    tokens: dict[str, str] = {}
    for start in range(0, len(names), _SCOPES_PER_TOKEN):
        batch = names[start : start + _SCOPES_PER_TOKEN]
        query = [("service", challenge.get("service", ""))]
        query += [("scope", f"repository:{name}:pull") for name in batch]
        response = open_url(
            f"{challenge['realm']}?{urlencode(query)}",
            url_username=params["username"],
            url_password=params["password"],
            force_basic_auth=True,
            ca_path=params["ca_path"],
            timeout=params["timeout"],
        )
        body = json.loads(response.read())
        token = body.get("token") or body["access_token"]
        tokens.update(dict.fromkeys(batch, token))
    return tokens


def manifest_digest(params: dict, tokens: dict[str, str] | None, ref: str) -> str:
    name, _, tag = ref.rpartition(":")
    if tokens is None:
        auth = {
            "url_username": params["username"],
            "url_password": params["password"],
            "force_basic_auth": True,
        }
        headers = {"Accept": _MANIFEST_TYPES}
    else:
        auth = {}
        headers = {"Accept": _MANIFEST_TYPES, "Authorization": f"Bearer {tokens[name]}"}
    try:
        response = open_url(
            f"{params['url'].rstrip('/')}/v2/{name}/manifests/{tag}",
            method="HEAD",
            headers=headers,
            ca_path=params["ca_path"],
            timeout=params["timeout"],
            **auth,
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
        challenge = bearer_challenge(module.params)
        tokens = None
        if challenge is not None:
            names = sorted({ref.rpartition(":")[0] for ref in refs})
            tokens = pull_tokens(module.params, challenge, names)
        with ThreadPoolExecutor(max_workers=_PARALLEL) as pool:
            digests = list(pool.map(lambda ref: manifest_digest(module.params, tokens, ref), refs))
    except (HTTPError, OSError, ValueError, KeyError) as exc:
        module.fail_json(msg=f"cannot read tag digests from {module.params['url']}: {exc}")
    module.exit_json(changed=False, digests=dict(zip(refs, digests, strict=True)))


if __name__ == "__main__":
    main()
