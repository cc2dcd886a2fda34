"""`labdock grade` hand-ins given as git URLs: what is refused before anything is fetched,
the student named from the URL, and the clone limits on local repositories (file://, no
server, no engine)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from labdock import cli
from labdock.errors import UsageError
from labdock.grade.clone import (
    CloneError,
    Limits,
    Repository,
    classify,
    clone,
    cloned,
    git_environment,
    probe,
)

LIMITS = Limits(timeout=30, max_bytes=10 * 2**20)
GIT = ["git", "-c", "user.name=student", "-c", "user.email=s@lab.invalid"]


def bare_repository(where: Path, files: dict[str, bytes] | None = None) -> Path:
    """A bare repository at `where`, one commit of `files` on its default branch."""
    work = where.with_name(where.name + "-work")
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    for name, data in (files or {"README.md": b"hand-in\n"}).items():
        (work / name).write_bytes(data)
    subprocess.run([*GIT, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(work), "commit", "-q", "-m", "hand-in"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(where)], check=True)
    return where


@pytest.mark.parametrize(
    "argument",
    [
        "ext::sh -c touch% /tmp/owned",
        "fd::17",
        "EXT::sh",
        "my-helper+x.y::anything",
        "::x",
        "https://host/a::b.git",
    ],
)
def test_transport_helper_syntax_is_refused(argument: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="transport-helper syntax"):
        classify(argument, [tmp_path])


@pytest.mark.parametrize("argument", ["-uprofile", "--upload-pack=touch /tmp/x", "-"])
def test_option_looking_arguments_are_refused(argument: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="looks like an option"):
        classify(argument, [tmp_path])


@pytest.mark.parametrize(
    "argument", ["https://host/a\nb.git", "alice\x00", "ssh://host/x\x1b[2J.git", "a\x7f"]
)
def test_control_characters_are_refused_and_not_echoed(argument: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="control character") as refused:
        classify(argument, [tmp_path])
    assert not any(ch in str(refused.value) for ch in "\n\x00\x1b\x7f")


@pytest.mark.parametrize(
    "argument", ["http://host/alice.git", "ftp://host/alice.git", "git+ext://host/a.git"]
)
def test_other_transports_are_refused(argument: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not allowed"):
        classify(argument, [tmp_path])


@pytest.mark.parametrize(
    ("argument", "student"),
    [
        ("https://git.example.edu/class/alice.git", "alice"),
        ("https://git.example.edu/class/bob/", "bob"),
        ("ssh://git@git.example.edu:2222/class/carol.git", "carol"),
        ("ssh://[::1]/srv/dave.git", "dave"),
        ("git://127.0.0.1:9418/erin.git", "erin"),
        ("git@github.com:class/frank-smith.git", "frank-smith"),
        ("git.example.edu:grace", "grace"),
    ],
)
def test_remote_urls_name_the_student_and_are_given_to_git_as_typed(
    argument: str, student: str, tmp_path: Path
) -> None:
    assert classify(argument, [tmp_path]) == Repository(url=argument, name=student, given=argument)


@pytest.mark.parametrize(
    "argument",
    ["https://host/", "https://host/class/..", "git@host:class/%2e%2e", "ssh://-oProxy/x"],
)
def test_a_url_without_a_usable_name_or_host_is_refused(argument: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"refused|not a usable student name"):
        classify(argument, [tmp_path])


def test_a_local_repository_is_cloned_over_file_from_inside_the_roots(tmp_path: Path) -> None:
    repository = bare_repository(tmp_path / "class one" / "alice.git")
    for argument in (str(repository), "file://" + str(repository).replace(" ", "%20")):
        found = classify(argument, [tmp_path])
        assert isinstance(found, Repository)
        assert found.name == "alice"
        # file:// so that git honours --depth; the path quoted as git decodes it.
        assert found.url == f"file://{str(repository).replace(' ', '%20')}"


def test_a_local_repository_outside_the_roots_is_refused(tmp_path: Path) -> None:
    repository = bare_repository(tmp_path / "elsewhere" / "alice.git")
    (tmp_path / "class").mkdir()
    inside_link = tmp_path / "class" / "alice.git"
    inside_link.symlink_to(repository)
    for argument in (
        str(repository),
        f"file://{repository}",
        f"file://{tmp_path}/class/../elsewhere/alice.git",
        # A symlink inside a root leading out of it.
        str(inside_link),
    ):
        with pytest.raises(UsageError, match="outside the clone roots"):
            classify(argument, [tmp_path / "class"])


def test_missing_local_hand_ins_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such folder or repository"):
        classify(str(tmp_path / "nobody"), [tmp_path])
    with pytest.raises(UsageError, match="no such repository"):
        classify(f"file://{tmp_path}/nobody.git", [tmp_path])
    with pytest.raises(UsageError, match="names no host"):
        classify(f"file://otherhost{tmp_path}/a.git", [tmp_path])


def test_a_plain_folder_is_graded_in_place_wherever_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "alice"
    folder.mkdir()
    assert classify(str(folder), [tmp_path / "roots-do-not-apply"]) == folder


def test_git_runs_without_prompts_and_with_our_transports_only() -> None:
    env = git_environment(
        {"PATH": "/bin", "GIT_ALLOW_PROTOCOL": "ext", "GIT_DIR": "/x", "GIT_SSH_COMMAND": "sh"}
    )
    assert env["PATH"] == "/bin"
    assert "GIT_DIR" not in env
    assert env["GIT_ALLOW_PROTOCOL"] == "https:ssh:git:file"
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_ASKPASS"] == ""
    assert "BatchMode=yes" in env["GIT_SSH_COMMAND"]


def test_a_clone_is_shallow_and_the_folder_removed_afterwards(tmp_path: Path) -> None:
    repository = bare_repository(tmp_path / "alice.git")
    work = tmp_path / "alice.git-work"
    (work / "second.txt").write_text("two\n")
    subprocess.run([*GIT, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(work), "commit", "-q", "-m", "two"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "-q", str(repository), "main"], check=True)
    found = classify(str(repository), [tmp_path])
    assert isinstance(found, Repository)
    with cloned([found], LIMITS) as clones:
        folder = clones[found]
        assert (folder / "second.txt").read_text() == "two\n"
        log = subprocess.run(
            ["git", "-C", str(folder), "rev-list", "--count", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert log.stdout.strip() == "1"
    assert not folder.exists()


def test_an_empty_repository_is_refused_by_the_probe(tmp_path: Path) -> None:
    empty = tmp_path / "alice.git"
    subprocess.run(["git", "init", "-q", "--bare", str(empty)], check=True)
    found = classify(str(empty), [tmp_path])
    assert isinstance(found, Repository)
    with pytest.raises(CloneError, match="no commits"):
        probe(found, LIMITS)


def test_a_clone_over_the_size_limit_is_refused_and_removed(tmp_path: Path) -> None:
    repository = bare_repository(tmp_path / "alice.git", {"big.bin": bytes(range(256)) * 8192})
    found = classify(str(repository), [tmp_path])
    assert isinstance(found, Repository)
    destination = tmp_path / "clone"
    with pytest.raises(CloneError, match="over 1 MB"):
        clone(found, destination, Limits(timeout=30, max_bytes=2**20))
    assert not destination.exists()


def test_two_hand_ins_with_one_name_say_what_to_do_for_folders_and_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "client.json").write_text("{}")
    monkeypatch.setenv("LABDOCK_CONFIG", str(tmp_path / "client.json"))
    (tmp_path / "alice").mkdir()
    code = cli.main(["grade", "002", "alice", "https://git.example.edu/class/alice.git"])
    assert code == 2
    error = capsys.readouterr().err
    assert "two hand-ins are named alice" in error
    assert "rename one of the folders" in error
    assert "clone that repository yourself" in error
