"""Repository checks on small folders (no engine): files, readme patterns, the registry
compose file, git commits."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from labdock.grade.checks.repository import (
    file_present,
    git_committed,
    registry_compose,
    text_matches,
)
from labdock.grade.context import Built, Context, Lost, Submission

README_PATTERNS = {
    "compose up": r"docker[ -]compose\b[^\n]*\bup\b",
    "two attach commands": {"pattern": r"docker\s+(container\s+)?attach\s+\S+", "times": 2},
}


def _context(root: Path) -> Context:
    return Context(Submission("alice", root, "students/alice"), sandbox=None, registry=None)  # type: ignore[arg-type]


def test_file_present_names_what_is_missing_or_empty(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("")
    ctx = _context(tmp_path)
    with pytest.raises(Lost, match=r"^nothing is missing$"):
        file_present(ctx, {"path": "nothing"})
    with pytest.raises(Lost, match=r"^empty is empty$"):
        file_present(ctx, {"path": "empty"})
    (tmp_path / "full").write_text("x")
    assert file_present(ctx, {"path": "full"}) == "full delivered (1 bytes)"


@pytest.mark.parametrize(
    ("readme", "passed"),
    [
        ("docker compose up -d\ndocker attach chat-server-1\ndocker attach 3f2a9c\n", True),
        ("docker-compose up --build\ndocker container attach a\ndocker attach b\n", True),
        ("docker compose up -d\ndocker attach chat-server-1\n", False),
        ("docker compose build\ndocker attach a\ndocker attach b\n", False),
    ],
)
def test_readme_needs_compose_up_and_two_attaches(
    tmp_path: Path, readme: str, passed: bool
) -> None:
    (tmp_path / "readme.md").write_text(readme)
    params = {"path": "readme.md", "patterns": README_PATTERNS}
    if passed:
        assert "attach" in text_matches(_context(tmp_path), params)
    else:
        with pytest.raises(Lost, match=r"readme.md lacks"):
            text_matches(_context(tmp_path), params)


def test_registry_compose_wants_images_only(tmp_path: Path) -> None:
    params = {"compose_file": "docker-compose.yaml", "repositories": ["srv", "cli"]}
    (tmp_path / "docker-compose.yaml").write_text("services: {srv: {build: ./srv}}\n")
    ctx = _context(tmp_path)
    with pytest.raises(Lost, match=r"^no compose file besides the build one$"):
        registry_compose(ctx, params)
    (tmp_path / "deploy.yml").write_text(
        "services:\n  a: {image: 'reg:5000/students/alice/srv:1.0'}\n  b: {build: ./cli}\n"
    )
    with pytest.raises(Lost, match=r"deploy.yml builds b"):
        registry_compose(ctx, params)
    (tmp_path / "deploy.yml").write_text(
        "services:\n  a: {image: 'reg:5000/students/alice/srv:1.0'}\n"
        "  b: {image: '${REGISTRY}/students/alice/cli'}\n"
    )
    assert registry_compose(ctx, params).startswith("deploy.yml: ")


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@x", *args],
        check=True,
        capture_output=True,
    )


def test_git_committed_compares_the_files_with_the_last_commit(tmp_path: Path) -> None:
    params = {"paths": ["Dockerfile", "readme.md", "absent"]}
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    (tmp_path / "readme.md").write_text("hi\n")
    ctx = _context(tmp_path)
    with pytest.raises(Lost, match=r"^not a git repository with a commit$"):
        git_committed(ctx, params)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "Dockerfile")
    _git(tmp_path, "commit", "-qm", "one")
    with pytest.raises(Lost, match=r"^not committed: readme.md$"):
        git_committed(ctx, params)
    _git(tmp_path, "add", "readme.md")
    _git(tmp_path, "commit", "-qm", "two")
    assert git_committed(ctx, params) == "git repository, 2 delivered files committed"
    (tmp_path / "Dockerfile").write_text("FROM y\n")
    with pytest.raises(Lost, match=r"^changed since the last commit: Dockerfile$"):
        git_committed(ctx, params)


def test_a_relative_submission_folder_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `labdock grade 001 class/*/`: compose runs inside the folder, where the relative
    # path would name class/ada/class/ada.
    (tmp_path / "class" / "ada").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    submission = Submission.from_folder(Path("class/ada"))
    assert submission.root == tmp_path / "class" / "ada"
    assert submission.name == "ada"


def test_a_folder_without_a_dockerfile_fails_before_anything_is_built(tmp_path: Path) -> None:
    # sandbox=None: reaching the engine would raise AttributeError, not this answer.
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "app.py").write_text("print('hi')\n")
    built = _context(tmp_path).build("api")
    assert built == Built(None, "build of api/ failed: no Dockerfile in api/")
