"""Settings from the environment: where the data file is and which credentials to accept."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA_FILE = "/data/student_age.json"


class ConfigError(ValueError):
    """A setting is present but unusable (for example a *_FILE that cannot be read)."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Settings:
    data_file: Path
    # None when no credentials are configured: the API then refuses every request (503)
    # instead of falling back to a default that would be baked into the image.
    credentials: Credentials | None


def _secret(env: dict[str, str], name: str) -> str | None:
    """Value of NAME, or the content of the file NAME_FILE points at (Docker secrets)."""
    path = env.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={path} cannot be read: {exc.strerror}") from exc
    return env.get(name) or None


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    username = _secret(env, "STUDENT_AGE_USERNAME")
    password = _secret(env, "STUDENT_AGE_PASSWORD")
    credentials = Credentials(username, password) if username and password else None
    return Settings(
        data_file=Path(env.get("STUDENT_AGE_DATA_FILE") or DEFAULT_DATA_FILE),
        credentials=credentials,
    )
