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
import re
import shlex
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
      requirements:
        description:
          - The pip requirements file, relative to O(contexts[].path), whose includes
            (C(-r)/C(--requirement), C(-c)/C(--constraint), at any depth, paths relative to
            the including file as pip reads them) are folded into its digest, so a pin
            changed in an included file outside the context changes the hash.
          - A file with no include keeps the plain SHA-256 of its bytes. A missing include
            or a loop fails the module with one line.
        type: str
        default: requirements.txt
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
      description:
        - SHA-256 of each hashed file, by path relative to the context; the requirements
          file's with its includes folded in.
      type: dict
"""

_CHUNK = 1 << 16


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# pip's include options, in each spelling optparse accepts: `-r x`, `-rx`, `--requirement x`,
# `--requirement=x` (and the same for constraints, which change what gets installed too).
_INCLUDE = re.compile(
    r"""^(?: -(?P<short>[rc]) \s* (?P<short_value>.*)
          | --(?P<long>requirement|constraint) (?:[=\s]\s*(?P<long_value>.*))? )$""",
    re.VERBOSE,
)
# pip drops a comment that starts a line or follows whitespace.
_COMMENT = re.compile(r"(^|\s+)#.*$")


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """pip's reading of a requirements file: comments dropped, backslash continuations
    joined; (first line number, line) for every non-empty line."""
    found: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _COMMENT.sub("", raw)
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        line, pending = (pending + line).strip(), ""
        if line:
            found.append((start, line))
    if pending.strip():
        found.append((start, pending.strip()))
    return found


def requirement_includes(text: str) -> list[tuple[int, str, str]]:
    """(line number, option, path) of every file a requirements file includes, in order."""
    includes: list[tuple[int, str, str]] = []
    for number, line in _logical_lines(text):
        match = _INCLUDE.match(line)
        if not match:
            continue
        option = "-" + (match["short"] or match["long"][0])
        value = (match["short_value"] or match["long_value"] or "").strip()
        words = shlex.split(value) if value else []
        if not words:
            raise ValueError(f"line {number}: {line} names no file")
        includes.append((number, option, words[0]))
    return includes


def requirements_digest(path: str, chain: tuple[str, ...] = ()) -> str:
    """SHA-256 of a requirements file with every include folded in, recursively. A file that
    includes nothing keeps the SHA-256 of its bytes, so its images keep their hash."""
    real = os.path.realpath(path)
    if real in chain:
        cycle = [*chain[chain.index(real) :], real]
        top = os.path.commonpath([os.path.dirname(link) for link in cycle])
        loop = " -> ".join(os.path.relpath(link, top) for link in cycle)
        raise ValueError(f"requirements include loop under {top}: {loop}")
    with open(path, "rb") as handle:
        data = handle.read()
    own = hashlib.sha256(data).hexdigest()
    includes = requirement_includes(data.decode("utf-8", errors="replace"))
    if not includes:
        return own
    digest = hashlib.sha256(own.encode())
    for number, option, target in includes:
        if re.match(r"^[a-z][a-z0-9+.-]*://", target, re.IGNORECASE):
            raise ValueError(f"{path} line {number}: {option} {target}: a URL cannot be hashed")
        included = os.path.normpath(os.path.join(os.path.dirname(path), target))
        if not os.path.isfile(included):
            raise ValueError(f"{path} line {number}: {option} {target}: no such file {included}")
        folded = requirements_digest(included, (*chain, real))
        digest.update(f"\0{option}\0{target}\0{folded}".encode())
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


def context_entries(
    root: str, dockerfile: str, excluded: list[str], requirements: str | None = None
) -> dict[str, tuple[int, str]]:
    """Relative path -> (mode, content digest) of every file the build would send; the
    requirements file's digest has its includes folded in."""
    entries: dict[str, tuple[int, str]] = {}
    for relpath in exclude_paths(root, _ignore_patterns(root), dockerfile=dockerfile):
        if _is_excluded(relpath, excluded):
            continue
        full = os.path.join(root, relpath)
        info = os.lstat(full)
        if stat.S_ISLNK(info.st_mode):
            content = "link:" + os.readlink(full)
        elif stat.S_ISREG(info.st_mode) and relpath == requirements:
            content = requirements_digest(full)
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
    requirements = os.path.normpath(spec.get("requirements") or "requirements.txt")
    entries = context_entries(root, spec["dockerfile"], excluded, requirements)
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
                    "requirements": {"type": "str", "default": "requirements.txt"},
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
    except (ValueError, OSError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, contexts=results)


if __name__ == "__main__":
    main()
