"""Connection settings for the registry: flags > environment > client.json > defaults.

Each setting is resolved on its own, so `--url` on the command line combines with a user and
password from the environment or from the client.json the registry role writes.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from labdock.errors import ConfigError

# The lab's settings as the plays read them, when this package runs from the repository (on
# the controller). A lab host's copy of the package has none: the labdock_cli role writes what
# the CLI needs there into its client.json and points LABDOCK_CONFIG at it.
GROUP_VARS = Path(__file__).resolve().parents[2] / "inventory" / "group_vars" / "all.yml"


@functools.cache
def group_vars() -> dict[str, Any]:
    """inventory/group_vars/all.yml, unrendered, or {} outside the repository."""
    try:
        text = GROUP_VARS.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    # Imported here: a lab host's CLI never reads YAML for its settings.
    import yaml

    data = yaml.safe_load(text)
    return data if isinstance(data, dict) else {}


def _default_url() -> str | None:
    lab = group_vars()
    if "labdock_registry_host" not in lab or "labdock_registry_port" not in lab:
        return None
    return f"https://{lab['labdock_registry_host']}:{lab['labdock_registry_port']}"


def _default_config_path() -> Path | None:
    state_dir = group_vars().get("labdock_state_dir")
    return Path(state_dir) / "client.json" if state_dir else None


# The registry and client.json where the plays put them (group_vars on the controller).
DEFAULT_URL = _default_url()
DEFAULT_CONFIG_PATH = _default_config_path()

ENV_URL = "LABDOCK_REGISTRY_URL"
ENV_USER = "LABDOCK_REGISTRY_USER"
ENV_PASSWORD = "LABDOCK_REGISTRY_PASSWORD"
ENV_CA_CERT = "LABDOCK_CA_CERT"
ENV_CONFIG = "LABDOCK_CONFIG"

# client.json keys, by setting name.
_FILE_KEYS = {"url": "url", "username": "username", "password": "password", "ca_cert": "ca_cert"}
# client.json's list of the course stacks the lab deploys (the plays write group_vars'
# labdock_stacks there): what `verify` checks by default and accepts by name.
STACKS_KEY = "stacks"
# client.json's compose project name prefix of the stacks (group_vars' labdock_project_prefix).
PROJECT_PREFIX_KEY = "project_prefix"
# client.json keys that are not connection settings: the accounts index the registry role
# writes (read by `labdock accounts`).
ACCOUNTS_KEY = "accounts"
_ENV_KEYS = {"url": ENV_URL, "username": ENV_USER, "password": ENV_PASSWORD, "ca_cert": ENV_CA_CERT}


@dataclass(frozen=True)
class Settings:
    url: str
    username: str | None
    password: str | None
    ca_cert: Path | None

    @property
    def credentials(self) -> tuple[str, str] | None:
        if self.username is None or self.password is None:
            return None
        return (self.username, self.password)

    @property
    def verify(self) -> str | bool:
        """What requests wants for `verify`: our CA bundle, or the system store."""
        return str(self.ca_cert) if self.ca_cert is not None else True


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every registry-facing command accepts."""
    group = parser.add_argument_group("registry connection (flags > env > client.json)")
    group.add_argument(
        "--url", help=f"registry URL (env {ENV_URL}; default client.json's, else {DEFAULT_URL})"
    )
    group.add_argument("--user", dest="username", help=f"registry user (env {ENV_USER})")
    secret = group.add_mutually_exclusive_group()
    secret.add_argument("--password-file", type=Path, help="file holding the password (first line)")
    secret.add_argument(
        "--password", help=f"registry password (env {ENV_PASSWORD}; prefer --password-file)"
    )
    group.add_argument(
        "--ca-cert", type=Path, help=f"CA certificate to verify the registry (env {ENV_CA_CERT})"
    )


def connection_help() -> str:
    """The connection options as each command's --help shows them, for the top-level help."""
    parser = argparse.ArgumentParser(add_help=False, usage=argparse.SUPPRESS)
    add_connection_arguments(parser)
    return parser.format_help().strip("\n")


def settings_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    flags: dict[str, Any] = {
        "url": args.url,
        "username": args.username,
        "password": _read_password_file(args.password_file) if args.password_file else None,
        "ca_cert": args.ca_cert,
    }
    if args.password is not None:
        flags["password"] = args.password
    return resolve(flags, env)


def resolve(flags: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    """Merge the layers per setting; client.json is read only when something is still unset."""
    values: dict[str, Any] = {}
    # Where each value came from, for errors that name the setting the user gave.
    sources: dict[str, str] = {}
    for name in _FILE_KEYS:
        if flags.get(name) is not None:
            values[name] = flags[name]
            sources[name] = f"--{name.replace('_', '-')}"
        elif env.get(_ENV_KEYS[name]):
            values[name] = env[_ENV_KEYS[name]]
            sources[name] = _ENV_KEYS[name]
    if len(values) < len(_FILE_KEYS):
        config_path = client_file_path(env)
        from_file = load_client_file(config_path, required=bool(env.get(ENV_CONFIG)))
        for name, key in _FILE_KEYS.items():
            if name not in values and from_file.get(key) is not None:
                value = from_file[key]
                if name == "ca_cert":
                    # A relative CA path in client.json is relative to that file.
                    value = config_path.parent / value
                values[name] = value
                sources[name] = f"{key} in {config_path}"
    return _validated(values, sources)


def load_client_file(path: Path, *, required: bool) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError(f"config file {path} ({ENV_CONFIG}) does not exist") from None
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a JSON object")
    unknown = sorted(
        set(data) - {*_FILE_KEYS.values(), STACKS_KEY, PROJECT_PREFIX_KEY, ACCOUNTS_KEY}
    )
    if unknown:
        raise ConfigError(f"config file {path} has unknown keys: {', '.join(unknown)}")
    return data


def lab_stacks(env: Mapping[str, str] | None = None) -> tuple[str, ...] | None:
    """The lab's course stacks from client.json, or None when it names none (a client.json
    written by hand or by a test registry)."""
    env = os.environ if env is None else env
    config_path = client_file_path(env)
    stacks = load_client_file(config_path, required=bool(env.get(ENV_CONFIG))).get(STACKS_KEY)
    if stacks is None:
        return None
    if not isinstance(stacks, list) or not all(isinstance(s, str) for s in stacks):
        raise ConfigError(f"config file {config_path}: {STACKS_KEY} must be a list of names")
    return tuple(stacks)


def lab_project_prefix(env: Mapping[str, str] | None = None) -> str:
    """The compose project name prefix of the lab's stacks: client.json's, else group_vars'."""
    env = os.environ if env is None else env
    config_path = client_file_path(env)
    prefix = load_client_file(config_path, required=bool(env.get(ENV_CONFIG))).get(
        PROJECT_PREFIX_KEY, group_vars().get("labdock_project_prefix")
    )
    if not isinstance(prefix, str) or not prefix:
        raise ConfigError(
            f"no compose project prefix of the stacks: give --project-prefix, or run site.yml "
            f"(it writes {PROJECT_PREFIX_KEY} into {config_path})"
        )
    return prefix


def client_file_path(env: Mapping[str, str] | None = None) -> Path:
    """client.json's path: LABDOCK_CONFIG, else where the plays write it."""
    env = os.environ if env is None else env
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG])
    if DEFAULT_CONFIG_PATH is None:
        raise ConfigError(f"no client.json: set {ENV_CONFIG} to its path")
    return DEFAULT_CONFIG_PATH


def _read_password_file(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read password file {path}: {exc.strerror}") from None
    if not lines or not lines[0]:
        raise ConfigError(f"password file {path} is empty")
    return lines[0]


def _validated(values: Mapping[str, Any], sources: Mapping[str, str]) -> Settings:
    if not (values.get("url") or DEFAULT_URL):
        raise ConfigError(f"no registry URL: give --url or {ENV_URL}, or run site.yml")
    url = str(values.get("url") or DEFAULT_URL).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"registry URL {url!r} must look like https://host:port")
    username = values.get("username")
    password = values.get("password")
    if (username is None) != (password is None):
        missing = "password" if password is None else "user"
        raise ConfigError(f"registry credentials are incomplete: no {missing} given")
    ca_cert = Path(values["ca_cert"]) if values.get("ca_cert") else None
    if ca_cert is not None:
        _check_ca_cert(ca_cert, sources.get("ca_cert", "ca_cert"))
    return Settings(url=url, username=username, password=password, ca_cert=ca_cert)


def _check_ca_cert(path: Path, source: str) -> None:
    """Load the CA file as requests and ssl will, so a wrong file is named with the setting
    that chose it, rather than failing later as an OpenSSL code without a file name."""
    if not path.is_file():
        raise ConfigError(f"CA certificate {path} ({source}) does not exist")
    try:
        ssl.create_default_context(cafile=str(path))
    except ssl.SSLError as exc:
        reason = (exc.reason or str(exc)).replace("_", " ").lower()
        raise ConfigError(
            f"CA certificate {path} ({source}) holds no usable PEM certificate: {reason}"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read CA certificate {path} ({source}): {exc.strerror}") from None
