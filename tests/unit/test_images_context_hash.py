"""The images role's content hash (roles/images/library/images_context_hash.py): a
requirements file's `-r` includes are folded into its digest, at any depth and in any
spelling pip accepts, so a pin changed in an app rebuilds the course image that includes
it; a file that includes nothing keeps the digest it always had."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from tests.harness.playbooks import REPO_ROOT

MODULE = REPO_ROOT / "roles" / "images" / "library" / "images_context_hash.py"
APPS = REPO_ROOT / "apps"
DOCKERFILE = "FROM scratch\n"
FLASK = "Flask==3.1.3\nwaitress==3.0.2\n"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("images_context_hash", MODULE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hasher = _load()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def context(root: Path, requirements: str) -> Path:
    write(root / "Dockerfile", DOCKERFILE)
    write(root / "requirements.txt", requirements)
    return root


def hashed(root: Path) -> dict:
    spec = {"path": str(root), "dockerfile": "Dockerfile", "exclude": ["wheels"], "inputs": {}}
    return hasher.hash_context(spec, 16)


def test_a_file_without_includes_keeps_its_plain_digest(tmp_path: Path) -> None:
    root = context(tmp_path / "app", "# pinned\n" + FLASK)
    # What the role computed before includes were folded: every file's plain SHA-256.
    before = {
        relpath: (mode, hasher._file_sha256(str(root / relpath)))
        for relpath, (mode, _) in hasher.context_entries(str(root), "Dockerfile", []).items()
    }
    result = hashed(root)
    assert result["files"]["requirements.txt"] == sha256(root / "requirements.txt")
    assert result["hash"] == hasher.context_hash(before, {})[:16]


@pytest.mark.parametrize("app", ["backend", "frontend", "website", "simple-api", "student_age"])
def test_the_course_apps_keep_their_digests(app: str) -> None:
    # No existing app image is rebuilt by this change: none of them includes a file.
    result = hashed(APPS / app)
    assert result["files"]["requirements.txt"] == sha256(APPS / app / "requirements.txt")


@pytest.mark.parametrize(
    "line",
    [
        "-r ../base/requirements.txt",
        "--requirement ../base/requirements.txt",
        "--requirement=../base/requirements.txt",
        "-r../base/requirements.txt",
        "  -r   ../base/requirements.txt   # the shared pins",
        '-r "../base/requirements.txt"',
        "-c ../base/requirements.txt",
        "--constraint=../base/requirements.txt",
    ],
)
def test_every_spelling_of_an_include_is_folded(tmp_path: Path, line: str) -> None:
    base = write(tmp_path / "base" / "requirements.txt", FLASK)
    root = context(tmp_path / "course", line + "\n")
    folded = hashed(root)
    assert folded["files"]["requirements.txt"] != sha256(root / "requirements.txt")

    write(base, FLASK.replace("3.1.3", "3.1.4"))
    changed = hashed(root)
    assert changed["files"]["requirements.txt"] != folded["files"]["requirements.txt"]
    assert changed["hash"] != folded["hash"]


def test_a_commented_include_is_not_one(tmp_path: Path) -> None:
    root = context(tmp_path / "app", "# -r ../missing/requirements.txt\nFlask==3.1.3  # -r x\n")
    assert hashed(root)["files"]["requirements.txt"] == sha256(root / "requirements.txt")


def test_a_continued_line_is_read_as_pip_reads_it(tmp_path: Path) -> None:
    write(tmp_path / "base" / "requirements.txt", FLASK)
    root = context(tmp_path / "course", "-r \\\n  ../base/requirements.txt\n")
    assert hasher.requirement_includes((root / "requirements.txt").read_text()) == [
        (1, "-r", "../base/requirements.txt")
    ]


def test_includes_are_folded_at_any_depth(tmp_path: Path) -> None:
    deepest = write(tmp_path / "pins" / "web.txt", FLASK)
    write(tmp_path / "base" / "requirements.txt", "-r ../pins/web.txt\nclick==8.5.1\n")
    root = context(tmp_path / "course", "-r ../base/requirements.txt\n")
    before = hashed(root)
    write(deepest, FLASK.replace("waitress==3.0.2", "waitress==3.0.3"))
    assert hashed(root)["hash"] != before["hash"]


def test_include_order_and_content_both_count(tmp_path: Path) -> None:
    write(tmp_path / "a" / "requirements.txt", "Flask==3.1.3\n")
    write(tmp_path / "b" / "requirements.txt", "waitress==3.0.2\n")
    one = context(tmp_path / "one", "-r ../a/requirements.txt\n-r ../b/requirements.txt\n")
    two = context(tmp_path / "two", "-r ../a/requirements.txt\n-r ../b/requirements.txt\n")
    assert hashed(one)["hash"] == hashed(two)["hash"]
    write(two / "requirements.txt", "-r ../b/requirements.txt\n-r ../a/requirements.txt\n")
    assert hashed(one)["hash"] != hashed(two)["hash"]


def test_a_missing_include_fails_in_one_line_naming_it(tmp_path: Path) -> None:
    root = context(tmp_path / "course", "Flask==3.1.3\n-r ../backnd/requirements.txt\n")
    with pytest.raises(ValueError) as failure:
        hashed(root)
    message = str(failure.value)
    assert "\n" not in message
    assert "line 2" in message and "-r ../backnd/requirements.txt" in message
    assert str(root / "requirements.txt") in message


def test_an_include_loop_fails_in_one_line(tmp_path: Path) -> None:
    write(tmp_path / "a" / "requirements.txt", "-r ../b/requirements.txt\n")
    write(tmp_path / "b" / "requirements.txt", "--requirement=../a/requirements.txt\n")
    root = context(tmp_path / "course", "-r ../a/requirements.txt\n")
    with pytest.raises(ValueError) as failure:
        hashed(root)
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith("requirements include loop")
    assert "a/requirements.txt -> b/requirements.txt -> a/requirements.txt" in message


def test_a_file_including_itself_is_a_loop(tmp_path: Path) -> None:
    root = context(tmp_path / "course", "-r requirements.txt\n")
    with pytest.raises(ValueError, match="requirements include loop"):
        hashed(root)


def test_an_include_with_no_file_fails(tmp_path: Path) -> None:
    root = context(tmp_path / "course", "--requirement\n")
    with pytest.raises(ValueError, match="names no file"):
        hashed(root)


def test_the_course_image_folds_each_course_app(tmp_path: Path) -> None:
    # The real recipe, over a copy of the apps: a pin changed in any included app's file
    # changes the course image's hash.
    names = ["backend", "frontend", "website", "simple-api", "student_age"]
    course = APPS / "python-course"
    text = (course / "requirements.txt").read_text(encoding="utf-8")
    assert [path for _, _, path in hasher.requirement_includes(text)] == [
        f"../{name}/requirements.txt" for name in names
    ]
    for name in [*names, "python-course"]:
        for file in ("requirements.txt", "Dockerfile", ".dockerignore"):
            if (APPS / name / file).exists():
                write(tmp_path / name / file, (APPS / name / file).read_text(encoding="utf-8"))
    original = hashed(tmp_path / "python-course")
    assert original == hashed(course)
    for name in names:
        pins = tmp_path / name / "requirements.txt"
        kept = pins.read_text(encoding="utf-8")
        write(pins, kept.replace("click==8.5.1", "click==8.5.2"))
        assert hashed(tmp_path / "python-course")["hash"] != original["hash"], name
        write(pins, kept)
    assert hashed(tmp_path / "python-course") == original
