"""The lab's registry accounts, as the registry role lists them in its accounts index
(`<state_dir>/registry/accounts.json`, found through client.json), and the sheets a teacher
hands out: a CSV, and a printable HTML page with one card per student."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labdock.config import ACCOUNTS_KEY, ENV_CONFIG, client_file_path, load_client_file
from labdock.errors import ConfigError

ROLES = ("admin", "pull", "student")


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    password_file: Path
    namespace: str | None

    def password(self) -> str:
        try:
            lines = self.password_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the password of {self.name} ({self.password_file}): {exc.strerror}; "
                "run playbooks/registry.yml"
            ) from None
        if not lines or not lines[0]:
            raise ConfigError(f"password file {self.password_file} of {self.name} is empty")
        return lines[0]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "namespace": self.namespace}


@dataclass(frozen=True)
class AccountsIndex:
    registry: str
    auth: str
    accounts: tuple[Account, ...]

    def with_roles(self, roles: Sequence[str]) -> list[Account]:
        return [a for a in self.accounts if a.role in roles]


def index_path(flag: Path | None, env: Mapping[str, str] | None = None) -> Path:
    """--accounts FILE, else the `accounts` entry of client.json."""
    if flag is not None:
        return flag
    config = client_file_path(env)
    path = load_client_file(config, required=True).get(ACCOUNTS_KEY)
    if not path:
        raise ConfigError(
            f"{config} names no accounts file: run playbooks/registry.yml (it writes both), "
            f"or give --accounts FILE (client.json from {ENV_CONFIG} or the default)"
        )
    return Path(path)


def lab_namespace_pattern(env: Mapping[str, str] | None = None) -> str | None:
    """The students' namespace pattern of the lab's registry (`{name}/`, ...) from the
    accounts index client.json names, or None when there is none to read (no lab here)."""
    try:
        path = index_path(None, env)
        document = json.loads(path.read_text(encoding="utf-8"))
    except (ConfigError, OSError, ValueError):
        return None
    pattern = document.get("namespace_pattern") if isinstance(document, dict) else None
    return pattern if isinstance(pattern, str) else None


def load_index(path: Path) -> AccountsIndex:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"accounts file {path} does not exist: run playbooks/registry.yml"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read accounts file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"accounts file {path} is not valid JSON: {exc}") from None
    try:
        pattern = document["namespace_pattern"]
        accounts = tuple(
            Account(
                entry["name"],
                entry["role"],
                Path(entry["password_file"]),
                pattern.replace("{name}", entry["name"]) if entry["role"] == "student" else None,
            )
            for entry in document["accounts"]
        )
        return AccountsIndex(document["registry"], document.get("auth", "token"), accounts)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"accounts file {path} lacks {exc}: run playbooks/registry.yml") from None


def sheet_rows(index: AccountsIndex, accounts: Sequence[Account]) -> list[dict[str, str]]:
    """One row per account, everything a student needs to log in and push."""
    rows = []
    for account in accounts:
        example = (
            f"docker push {index.registry}/{account.namespace}IMAGE:TAG"
            if account.namespace
            else f"docker pull {index.registry}/IMAGE:TAG"
        )
        rows.append(
            {
                "name": account.name,
                "role": account.role,
                "password": account.password(),
                "registry": index.registry,
                "namespace": account.namespace or "",
                "login": f"docker login {index.registry} -u {account.name}",
                "example": example,
            }
        )
    return rows


def to_csv(rows: Sequence[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer,
        fieldnames=["name", "role", "password", "registry", "namespace", "login", "example"],
        lineterminator="\n",
    )
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


_CARD = """<section class="card">
  <h2>{name}</h2>
  <dl>
    <dt>Registry</dt><dd><code>{registry}</code></dd>
    <dt>User</dt><dd><code>{name}</code></dd>
    <dt>Password</dt><dd><code class="password">{password}</code></dd>
    <dt>Your namespace</dt><dd><code>{registry}/{namespace}</code></dd>
  </dl>
  <p>Log in: <code>{login}</code></p>
  <p>Push: <code>{example}</code></p>
</section>"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Registry accounts: {registry}</title>
<style>
  body {{ font-family: sans-serif; }}
  .card {{ border: 1px dashed #888; padding: 0.5em 1em; margin: 1em 0; page-break-inside: avoid; }}
  .password {{ font-size: 1.3em; letter-spacing: 0.1em; }}
  dt {{ float: left; width: 9em; font-weight: bold; }}
</style>
</head>
<body>
<h1>Registry accounts: {registry}</h1>
{cards}
</body>
</html>
"""


def to_html(registry: str, rows: Sequence[dict[str, str]]) -> str:
    """A printable page: one card per account, cut along the dashed lines."""
    cards = "\n".join(
        _CARD.format(**{key: html.escape(value) for key, value in row.items()}) for row in rows
    )
    return _PAGE.format(registry=html.escape(registry), cards=cards)
