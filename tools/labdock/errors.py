"""Error types and exit codes shared by every labdock command.

Commands raise LabdockError (or a subclass) for anything that stops them from running; the
top-level handler in cli.py turns it into one line on stderr and the error's exit code.
"""

from __future__ import annotations

import ssl
from enum import IntEnum

import requests


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1
    CANNOT_RUN = 2
    INTERRUPTED = 130


class LabdockError(Exception):
    """The command could not run; the message is the one line the user sees."""

    exit_code: ExitCode = ExitCode.CANNOT_RUN


class ConfigError(LabdockError):
    """Settings are missing or unreadable."""


class UsageError(LabdockError):
    """The command line asks for something that cannot be done."""


class RegistryError(LabdockError):
    """The registry could not be reached, refused us, or answered something unusable."""


class RegistryAuthError(RegistryError):
    """The registry answered 401 to a request that carried (or needed) credentials."""


class RegistryNotFound(RegistryError):
    """The registry answered 404: no such repository, tag or manifest."""


class RegistryReadOnly(RegistryError):
    """The registry refused a write with 405: it is in its read-only maintenance window."""


def describe_request_error(exc: requests.RequestException) -> str:
    """One readable line for a requests failure, without urllib3's nested reprs."""
    url = exc.request.url if exc.request is not None else "the registry"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS verification failed for {url}: {_innermost_reason(exc)}"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"timed out talking to {url}"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"cannot reach {url}: {_innermost_reason(exc)}"
    return f"request to {url} failed: {_innermost_reason(exc)}"


def _innermost_reason(exc: BaseException) -> str:
    # requests wraps urllib3 errors that wrap OS or ssl errors; the innermost one says what
    # actually happened ("Connection refused", "certificate verify failed: ...").
    seen: set[int] = set()
    reason: BaseException = exc
    while id(reason) not in seen:
        seen.add(id(reason))
        if isinstance(reason, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {reason.verify_message}"
        if isinstance(reason, OSError) and reason.strerror:
            return reason.strerror
        nested = next(
            (
                candidate
                for candidate in (
                    getattr(reason, "reason", None),
                    reason.args[0] if reason.args else None,
                    reason.__cause__,
                    reason.__context__,
                )
                if isinstance(candidate, BaseException)
            ),
            None,
        )
        if nested is None:
            break
        reason = nested
    text = str(reason) or type(reason).__name__
    # urllib3 prefixes its connection object's repr; what follows the colon is the reason.
    return text.rsplit("): ", 1)[-1].strip()
