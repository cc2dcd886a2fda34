"""Hand-ins given where they are: a git repository URL (https, ssh, git://, scp-like
`user@host:path`), a local repository (a bare repository's path or a file:// URL), or a folder
graded in place as before.

Every argument is checked before anything is fetched, and every repository is then probed
(`git ls-remote`) before the first clone, so a typo in the 30th URL stops the run with one
line instead of after 29 clones. git runs with only our four transports allowed, no prompt of
any kind (a clone never waits on a password), no submodules, in its own process group so a
timeout or Ctrl-C ends ssh and index-pack with it."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from labdock.errors import LabdockError, UsageError

TRANSPORTS = ("https", "ssh", "git", "file")
DEFAULT_TIMEOUT = 120
DEFAULT_MAX_MB = 200
# How often a running clone's size and deadline are looked at.
POLL_SECONDS = 0.25

# scp-like `[user@]host:path`: git reads it so when a ':' comes before any '/'.
_SCP = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>\[[^\]/]+\]|[^:/\[\]@]+):(?P<path>.+)$")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Command-line config outranks every config file, so a teacher's ~/.gitconfig cannot widen it.
GIT_CONFIG = (
    "protocol.allow=never",
    *(f"protocol.{transport}.allow=always" for transport in TRANSPORTS),
    "submodule.recurse=false",
    # A malformed tree (a path with `..` or `.git` in it) is refused while fetching.
    "transfer.fsckObjects=true",
)


class CloneError(LabdockError):
    """A repository could not be read or cloned within the limits; the one line says which."""


@dataclass(frozen=True)
class Repository:
    """A hand-in to clone: `url` is what git is given, `given` what the teacher typed."""

    url: str
    name: str
    given: str


@dataclass(frozen=True)
class Limits:
    timeout: float
    max_bytes: int


def classify(argument: str, roots: Sequence[Path]) -> Path | Repository:
    """A folder to grade in place, or a repository to clone; UsageError (one line) for an
    argument git could read as something else: an option, a transport helper, a local
    repository outside `roots`, one that does not exist."""
    shown = repr(argument)
    if _CONTROL.search(argument):
        raise UsageError(f"hand-in {shown} contains a control character: refused")
    if argument.startswith("-"):
        raise UsageError(f"hand-in {shown} looks like an option: refused")
    # git's transport-helper syntax `<helper>::<address>` (ext::, fd::, any remote helper).
    # Brackets hold an IPv6 address (`[::1]`); `::` anywhere else is refused.
    if "::" in re.sub(r"\[[^\]]*\]", "", argument):
        raise UsageError(
            f"hand-in {shown} uses git's transport-helper syntax (`name::`): refused; "
            "give an https, ssh, git:// or file:// URL or a folder"
        )
    if "://" in argument:
        return _url(argument, roots)
    scp = _SCP.match(argument)
    if scp:
        if scp["host"].startswith("-"):
            raise UsageError(f"hand-in {shown}: a host name cannot start with '-': refused")
        return Repository(url=argument, name=_student(scp["path"], argument), given=argument)
    return _local(Path(argument), argument, roots)


def _url(argument: str, roots: Sequence[Path]) -> Repository:
    parts = urlsplit(argument)
    scheme = parts.scheme.lower()
    if scheme not in TRANSPORTS:
        raise UsageError(
            f"hand-in {argument!r}: transport {scheme or '(none)'!r} is not allowed "
            f"(only {', '.join(TRANSPORTS)}): refused"
        )
    if scheme == "file":
        if parts.netloc:
            raise UsageError(f"hand-in {argument!r}: a file:// URL names no host: refused")
        # git decodes %XX in a file:// path, so the check must look at the decoded one.
        return _local_repository(Path(unquote(parts.path)), argument, roots)
    if not parts.hostname or parts.hostname.startswith("-"):
        raise UsageError(f"hand-in {argument!r} names no usable host: refused")
    return Repository(url=argument, name=_student(parts.path, argument), given=argument)


def _local(path: Path, argument: str, roots: Sequence[Path]) -> Path | Repository:
    if not path.exists():
        raise UsageError(f"hand-in {argument!r}: no such folder or repository")
    if not path.is_dir():
        raise UsageError(f"hand-in {argument!r} is not a folder")
    if _is_bare_repository(path):
        return _local_repository(path, argument, roots)
    # A plain folder (a clone the teacher made) is graded in place, as it always was.
    return path


def _local_repository(path: Path, argument: str, roots: Sequence[Path]) -> Repository:
    resolved = path.resolve()
    # Resolved on both sides: a symlink or `..` cannot lead out of a root.
    if not any(resolved.is_relative_to(root.resolve()) for root in roots):
        allowed = ", ".join(str(root) for root in roots)
        raise UsageError(
            f"hand-in {argument!r} is outside the clone roots ({allowed}): refused; "
            "add --clone-root DIR"
        )
    if not resolved.is_dir():
        raise UsageError(f"hand-in {argument!r}: no such repository")
    # file:// makes git honour --depth and copy objects instead of hard-linking them.
    return Repository(
        url="file://" + quote(str(resolved)), name=_student(str(resolved), argument), given=argument
    )


def _is_bare_repository(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def _student(path: str, argument: str) -> str:
    """The student's name: the repository's last path part without `.git`."""
    last = unquote(path).rstrip("/").rsplit("/", 1)[-1]
    name = last.removesuffix(".git")
    if not _NAME.match(name):
        raise UsageError(
            f"hand-in {argument!r}: its last path part {last!r} is not a usable student name "
            "(letters, digits, '.', '_', '-')"
        )
    return name


@contextlib.contextmanager
def cloned(repositories: Sequence[Repository], limits: Limits) -> Iterator[dict[Repository, Path]]:
    """Each repository probed, then cloned shallow into one temporary folder that is removed
    on the way out (after grading, or on any error)."""
    for repository in repositories:
        probe(repository, limits)
    with tempfile.TemporaryDirectory(prefix="labdock-grade-clones-") as tmp:
        yield {
            repository: clone(repository, Path(tmp) / str(index), limits)
            for index, repository in enumerate(repositories)
        }


def probe(repository: Repository, limits: Limits) -> None:
    """CloneError unless the repository answers and has a default branch to clone."""
    listed = _git(["ls-remote", "--symref", "--", repository.url, "HEAD"], repository, limits)
    if not listed.strip():
        raise CloneError(f"repository {repository.given} has no commits (no HEAD): refused")


def clone(repository: Repository, destination: Path, limits: Limits) -> Path:
    """A shallow clone of the default branch into `destination`; CloneError (and nothing left
    behind) when it fails, takes too long or grows over the size limit."""
    command = [
        "clone",
        "--quiet",
        "--depth",
        "1",
        "--single-branch",
        "--no-tags",
        "--no-recurse-submodules",
        "--",
        repository.url,
        str(destination),
    ]
    try:
        _git(command, repository, limits, watch=destination)
    except CloneError:
        shutil.rmtree(destination, ignore_errors=True)
        raise
    if _size(destination) > limits.max_bytes:
        shutil.rmtree(destination, ignore_errors=True)
        raise CloneError(_too_big(repository, limits))
    return destination


def git_environment(base: Mapping[str, str]) -> dict[str, str]:
    """The environment git runs in: no prompt, ssh in batch mode, our transports only."""
    # A wrapper's or hook's GIT_DIR, GIT_ALLOW_PROTOCOL or GIT_CONFIG_* must not change
    # what is cloned or how.
    env = {key: value for key, value in base.items() if not key.startswith("GIT_")}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        # Empty, not unset: git then skips core.askPass and SSH_ASKPASS instead of running them.
        GIT_ASKPASS="",
        SSH_ASKPASS="",
        GIT_SSH_COMMAND="ssh -o BatchMode=yes",
        GIT_ALLOW_PROTOCOL=":".join(TRANSPORTS),
    )
    return env


def _git(
    arguments: list[str], repository: Repository, limits: Limits, watch: Path | None = None
) -> str:
    """git's stdout; CloneError on failure, at the deadline or when `watch` outgrows the size
    limit. The whole process group is killed: git leaves ssh or index-pack behind otherwise."""
    config = [word for setting in GIT_CONFIG for word in ("-c", setting)]
    process = subprocess.Popen(
        ["git", *config, *arguments],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=git_environment(os.environ),
        start_new_session=True,
    )
    deadline = time.monotonic() + limits.timeout
    try:
        while True:
            try:
                stdout, stderr = process.communicate(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    raise CloneError(
                        f"repository {repository.given}: not done within {limits.timeout:g} s "
                        "(--clone-timeout): stopped"
                    ) from None
                if watch is not None and _size(watch) > limits.max_bytes:
                    raise CloneError(_too_big(repository, limits)) from None
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    if process.returncode != 0:
        raise CloneError(f"repository {repository.given}: {_reason(stderr, process.returncode)}")
    return stdout


def _reason(stderr: str, returncode: int) -> str:
    """git's first `fatal:` line (what happened; the rest is advice), with the line after it
    when it ends in ':' ("unable to connect to host:" then the errno)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    fatal = next((i for i, line in enumerate(lines) if line.startswith("fatal:")), None)
    if fatal is None:
        return lines[-1] if lines else f"git exited {returncode}"
    reason = lines[fatal].removeprefix("fatal:").strip()
    if reason.endswith(":") and fatal + 1 < len(lines):
        reason = f"{reason} {lines[fatal + 1]}"
    return reason


def _size(folder: Path) -> int:
    """Bytes under `folder`, links not followed; 0 before git has created it."""
    total = 0
    for parent, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(parent, name)).st_size
    return total


def _too_big(repository: Repository, limits: Limits) -> str:
    return (
        f"repository {repository.given} is over {limits.max_bytes // 2**20} MB "
        "(--clone-max-mb): stopped and removed"
    )
