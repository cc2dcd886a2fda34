#!/usr/bin/python
# Why a module of our own: no module hashes a Docker build context the way the build sees
# it (only the files .dockerignore lets through), and that hash is the build identity the
# images role tags with, so an unchanged app is never rebuilt and a changed one always is.
# It runs on the build host, over the very directory community.docker.docker_image sends,
# and it reuses that collection's own .dockerignore matcher so both agree on the file set.

from __future__ import annotations

import hashlib
import json
import os
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.community.docker.plugins.module_utils._api.utils.build import (
    exclude_paths,
)

DOCUMENTATION = r"""
---
module: images_context_hash
short_description: Content hashes of Docker build contexts, honoring .dockerignore
description:
  - For each context, hashes the sorted relative paths, modes and contents of the files a
    build would send to the engine (the ones .dockerignore does not exclude), plus its inputs.
  - All contexts are hashed in one run so a play with nothing to build stays quick.
  - Read-only; never reports a change.
options:
  contexts:
    description: The build contexts to hash.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: The build context directory.
        type: path
        required: true
      dockerfile:
        description: The Dockerfile, relative to O(contexts[].path); always part of the hash.
        type: str
        default: Dockerfile
      exclude:
        description:
          - Paths relative to O(contexts[].path) left out of the hash although the build
            sends them, because they derive from hashed files (a wheelhouse from
            requirements.txt).
        type: list
        elements: str
        default: []
      inputs:
        description: Other build inputs (base image IDs, build args) hashed with the files.
        type: dict
        default: {}
  length:
    description: Number of hex digits of the SHA-256 returned as each RV(contexts[].hash).
    type: int
    default: 16
"""

RETURN = r"""
contexts:
  description: One entry per O(contexts) item, in the same order.
  type: list
  elements: dict
  returned: always
  contains:
    hash:
      description: The leading O(length) hex digits of the context's SHA-256.
      type: str
    files:
      description: SHA-256 of each hashed file, by path relative to the context.
      type: dict
"""

_CHUNK = 1 << 16


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _ignore_patterns(root: str) -> list[str]:
    # Parsed as docker_image parses it, so the hash covers exactly what the build sends.
    try:
        with open(os.path.join(root, ".dockerignore"), encoding="utf-8") as handle:
            lines = [line.strip() for line in handle.read().splitlines()]
    except FileNotFoundError:
        return []
    return [line for line in lines if line and not line.startswith("#")]


def _is_excluded(relpath: str, excluded: list[str]) -> bool:
    return any(relpath == top or relpath.startswith(top + "/") for top in excluded)


def context_entries(root: str, dockerfile: str, excluded: list[str]) -> dict[str, tuple[int, str]]:
    """Relative path -> (mode, content digest) of every file the build would send."""
    entries: dict[str, tuple[int, str]] = {}
    for relpath in exclude_paths(root, _ignore_patterns(root), dockerfile=dockerfile):
        if _is_excluded(relpath, excluded):
            continue
        full = os.path.join(root, relpath)
        info = os.lstat(full)
        if stat.S_ISLNK(info.st_mode):
            content = "link:" + os.readlink(full)
        elif stat.S_ISREG(info.st_mode):
            content = _file_sha256(full)
        else:
            # Directories carry no content of their own; their files are listed.
            continue
        entries[relpath] = (stat.S_IMODE(info.st_mode), content)
    return entries


def context_hash(entries: dict[str, tuple[int, str]], inputs: dict) -> str:
    digest = hashlib.sha256()
    for relpath in sorted(entries):
        mode, content = entries[relpath]
        digest.update(f"{relpath}\0{mode:o}\0{content}\n".encode())
    digest.update(json.dumps(inputs, sort_keys=True).encode())
    return digest.hexdigest()


def hash_context(spec: dict, length: int) -> dict:
    root = spec["path"]
    if not os.path.isdir(root):
        raise ValueError(f"build context {root} is not a directory")
    if not os.path.isfile(os.path.join(root, spec["dockerfile"])):
        raise ValueError(f"no {spec['dockerfile']} in build context {root}")
    excluded = [os.path.normpath(path) for path in spec["exclude"]]
    entries = context_entries(root, spec["dockerfile"], excluded)
    return {
        "hash": context_hash(entries, spec["inputs"])[:length],
        "files": {relpath: content for relpath, (_mode, content) in entries.items()},
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "contexts": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "path": {"type": "path", "required": True},
                    "dockerfile": {"type": "str", "default": "Dockerfile"},
                    "exclude": {"type": "list", "elements": "str", "default": []},
                    "inputs": {"type": "dict", "default": {}},
                },
            },
            "length": {"type": "int", "default": 16},
        },
        supports_check_mode=True,
    )
    try:
        results = [
            hash_context(spec, module.params["length"]) for spec in module.params["contexts"]
        ]
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, contexts=results)


if __name__ == "__main__":
    main()
