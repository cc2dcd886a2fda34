"""Per-student accounts through token auth, against the session registry the registry role
deployed with a class of three (tests/conftest.py): what each account may do, through
labdock, the engine (`docker`) and skopeo, and the tokens the registry refuses."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from docker.models.images import Image

from labdock.errors import RegistryAuthError
from labdock.registry import RegistryClient
from tests.conftest import CLASS
from tests.harness.populate import TinyImage
from tests.harness.registry import USER, ThrowawayRegistry

pytestmark = pytest.mark.integration

COURSE_REPOSITORY = "student_age"


@pytest.fixture(scope="module")
def course_and_student_images(registry: ThrowawayRegistry, tiny_image: TinyImage) -> str:
    """As the teacher would have them: a course image, and bob's work in his namespace."""
    with RegistryClient(registry.settings) as admin:
        tiny_image.upload(admin, COURSE_REPOSITORY)
        admin.put_manifest(COURSE_REPOSITORY, "1.0", tiny_image.manifest())
        tiny_image.upload(admin, "bob/app")
        return admin.put_manifest("bob/app", "1", tiny_image.manifest())


def _client(registry: ThrowawayRegistry, user: str) -> RegistryClient:
    return RegistryClient(registry.settings_for(user))


# -- labdock's client: one clear line per refusal ----------------------------------------


def test_student_pushes_and_pulls_in_own_namespace(
    registry: ThrowawayRegistry, tiny_image: TinyImage, course_and_student_images: str
) -> None:
    with _client(registry, "alice") as alice:
        tiny_image.upload(alice, "alice/app")
        digest = alice.put_manifest("alice/app", "1", tiny_image.manifest())
        assert alice.manifest_digest("alice/app", "1") == digest
        assert alice.tags("alice/app") == ["1"]
        # The course images are hers to pull.
        assert alice.manifest_digest(COURSE_REPOSITORY, "1.0") == digest


def test_student_cannot_push_to_another_students_namespace(
    registry: ThrowawayRegistry, tiny_image: TinyImage, course_and_student_images: str
) -> None:
    with _client(registry, "alice") as alice, pytest.raises(RegistryAuthError) as refused:
        tiny_image.upload(alice, "bob/app")
    assert str(refused.value) == "user alice may not push to bob/app"


def test_student_cannot_delete_from_another_students_namespace(
    registry: ThrowawayRegistry, course_and_student_images: str
) -> None:
    with _client(registry, "alice") as alice, pytest.raises(RegistryAuthError) as refused:
        alice.delete_manifest("bob/app", course_and_student_images)
    assert str(refused.value) == "user alice may not delete from bob/app"
    with RegistryClient(registry.settings) as admin:
        assert admin.tags("bob/app") == ["1"]


def test_student_cannot_even_read_another_students_namespace(
    registry: ThrowawayRegistry, course_and_student_images: str
) -> None:
    with _client(registry, "carol") as carol, pytest.raises(RegistryAuthError) as refused:
        carol.tags("bob/app")
    assert str(refused.value) == "user carol may not pull from bob/app"


def test_pull_only_account_pulls_but_cannot_push(
    registry: ThrowawayRegistry, tiny_image: TinyImage, course_and_student_images: str
) -> None:
    with _client(registry, registry.pull_user) as puller:
        assert puller.manifest_digest("bob/app", "1") == course_and_student_images
        with pytest.raises(RegistryAuthError) as refused:
            tiny_image.upload(puller, COURSE_REPOSITORY)
    assert str(refused.value) == f"user {registry.pull_user} may not push to {COURSE_REPOSITORY}"


def test_admin_deletes_anywhere(registry: ThrowawayRegistry, tiny_image: TinyImage) -> None:
    with RegistryClient(registry.settings) as admin:
        tiny_image.upload(admin, "carol/scratch")
        digest = admin.put_manifest("carol/scratch", "gone", tiny_image.manifest())
        admin.delete_manifest("carol/scratch", digest)
        assert admin.tags("carol/scratch") == []


def test_student_cannot_list_the_catalog(registry: ThrowawayRegistry, run_labdock) -> None:
    result = run_labdock("catalog", env=registry.cli_env(registry.settings_for("alice")))
    assert result.returncode == 2
    assert result.stderr == "labdock: user alice may not list the registry's catalog\n"


def test_wrong_student_password_is_one_line(registry: ThrowawayRegistry, run_labdock) -> None:
    env = registry.cli_env(registry.settings_for("bob")) | {"LABDOCK_REGISTRY_PASSWORD": "nope"}
    result = run_labdock("catalog", env=env)
    assert result.returncode == 2
    assert result.stderr == (
        f"labdock: token service {registry.realm} rejected the credentials for user bob (401)\n"
    )


def test_admin_catalog_fetches_pull_tokens_in_batches(
    registry: ThrowawayRegistry, course_and_student_images: str
) -> None:
    with RegistryClient(registry.settings) as admin:
        repositories = admin.catalog()
        admin.prefetch_pull_tokens(repositories)
        before = len(admin.tokens._tokens)
        for repository in repositories:
            admin.tags(repository)
        # Every tag list used a prefetched token: none was fetched one by one.
        assert len(admin.tokens._tokens) == before
    assert {COURSE_REPOSITORY, "bob/app"} <= set(repositories)


# -- forged tokens -------------------------------------------------------------------------


def _forged_token(registry: ThrowawayRegistry, key_path: Path, cert_path: Path, **claims) -> str:
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    der = certificate.public_bytes(serialization.Encoding.DER)
    now = int(time.time())
    payload = {
        "iss": "labdock-token",
        "sub": USER,
        "aud": "labdock-registry",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": secrets.token_hex(8),
        "access": [{"type": "repository", "name": COURSE_REPOSITORY, "actions": ["pull"]}],
    } | claims
    return jwt.encode(
        payload, key, algorithm="ES256", headers={"x5c": [base64.b64encode(der).decode()]}
    )


def _tags_with(registry: ThrowawayRegistry, token: str) -> int:
    response = requests.get(
        f"{registry.url}/v2/{COURSE_REPOSITORY}/tags/list",
        headers={"Authorization": f"Bearer {token}"},
        verify=str(registry.certs.ca_cert),
        timeout=10,
    )
    return response.status_code


@pytest.fixture(scope="module")
def signing_files(registry: ThrowawayRegistry) -> tuple[Path, Path]:
    folder = registry.state_dir / "pki" / "token"
    return folder / "signing.key", folder / "signing.crt"


def test_a_token_forged_with_the_real_key_is_accepted(
    registry: ThrowawayRegistry, signing_files: tuple[Path, Path], course_and_student_images: str
) -> None:
    """The control for the two refusals below: only the one claim or key they change differs."""
    assert _tags_with(registry, _forged_token(registry, *signing_files)) == 200


def test_an_expired_token_is_refused(
    registry: ThrowawayRegistry, signing_files: tuple[Path, Path], course_and_student_images: str
) -> None:
    # distribution allows 60 s of clock skew past `exp`.
    past = int(time.time()) - 600
    token = _forged_token(registry, *signing_files, iat=past - 300, nbf=past - 300, exp=past)
    assert _tags_with(registry, token) == 401


def test_a_token_signed_by_another_key_is_refused_even_if_the_lab_ca_certified_it(
    registry: ThrowawayRegistry, tmp_path: Path, course_and_student_images: str
) -> None:
    ca_key = serialization.load_pem_private_key(
        (registry.state_dir / "pki" / "ca.key").read_bytes(), None
    )
    ca_cert = x509.load_pem_x509_certificate(registry.certs.ca_cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "labdock-token")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    key_path, cert_path = tmp_path / "other.key", tmp_path / "other.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    assert _tags_with(registry, _forged_token(registry, key_path, cert_path)) == 401


# -- the engine and skopeo, each with a student's own account --------------------------------


@pytest.fixture
def docker_as(tmp_path: Path, registry: ThrowawayRegistry):
    """Run the docker CLI logged in as one account, in a config folder of its own (the
    engine's credentials for other tests stay untouched)."""

    def run(user: str, *args: str) -> subprocess.CompletedProcess[str]:
        config = tmp_path / f"docker-{user}"
        config.mkdir(exist_ok=True)
        env = {"DOCKER_CONFIG": str(config), "PATH": "/usr/bin:/bin:/usr/local/bin"}
        if not (config / "config.json").exists():
            login = subprocess.run(
                ["docker", "login", registry.address, "-u", user, "--password-stdin"],
                input=registry.account_password(user),
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert login.returncode == 0, login.stderr
        return subprocess.run(
            ["docker", *args], env=env, capture_output=True, text=True, timeout=300, check=False
        )

    return run


@pytest.fixture
def tagged(scratch_image: Image, registry: ThrowawayRegistry) -> Iterator[callable]:
    references: list[str] = []

    def tag(repository: str) -> str:
        reference = f"{registry.address}/{repository}"
        scratch_image.tag(reference, "exam")
        references.append(f"{reference}:exam")
        return f"{reference}:exam"

    yield tag
    for reference in references:
        subprocess.run(["docker", "rmi", reference], capture_output=True, check=False)


def test_docker_push_to_another_namespace_is_denied_by_the_registry(
    docker_as, tagged, course_and_student_images: str
) -> None:
    own = docker_as("alice", "push", tagged("alice/chat"))
    assert own.returncode == 0, own.stderr
    other = docker_as("alice", "push", tagged("bob/chat"))
    assert other.returncode != 0
    assert "denied" in other.stderr


def test_docker_pull_of_a_course_image_works_for_a_student(
    docker_as, registry: ThrowawayRegistry, course_and_student_images: str
) -> None:
    # The tiny image has an amd64 config and one layer: the engine can pull it.
    reference = f"{registry.address}/{COURSE_REPOSITORY}:1.0"
    pulled = docker_as("carol", "pull", reference)
    try:
        assert pulled.returncode == 0, pulled.stderr
    finally:
        subprocess.run(["docker", "rmi", reference], capture_output=True, check=False)


def test_docker_push_with_the_pull_account_is_denied(
    docker_as, registry: ThrowawayRegistry, tagged
) -> None:
    pushed = docker_as(registry.pull_user, "push", tagged("pull-only/attempt"))
    assert pushed.returncode != 0
    assert "denied" in pushed.stderr


@pytest.mark.skipif(
    shutil.which("skopeo") is None, reason="skopeo not installed (apt-get install skopeo)"
)
def test_skopeo_copies_and_inspects_with_a_students_account(
    registry: ThrowawayRegistry, tmp_path: Path, course_and_student_images: str
) -> None:
    creds = f"bob:{registry.account_password('bob')}"
    # A folder with the CA alone: skopeo would take the lab CA's key beside it for a client key.
    cert_dir = tmp_path / "certs"
    cert_dir.mkdir()
    shutil.copyfile(registry.certs.ca_cert, cert_dir / "ca.crt")

    def skopeo(verb: str, *references: str) -> subprocess.CompletedProcess[str]:
        if verb == "copy":
            options = ["--src-cert-dir", str(cert_dir), "--dest-cert-dir", str(cert_dir)]
            options += ["--src-creds", creds, "--dest-creds", creds]
        else:
            options = ["--cert-dir", str(cert_dir), "--creds", creds]
        urls = [f"docker://{registry.address}/{reference}" for reference in references]
        return subprocess.run(
            ["skopeo", verb, *options, *urls],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    copied = skopeo("copy", f"{COURSE_REPOSITORY}:1.0", "bob/copied:1.0")
    assert copied.returncode == 0, copied.stderr
    inspected = skopeo("inspect", "bob/copied:1.0")
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["Digest"] == course_and_student_images
    refused = skopeo("copy", "bob/copied:1.0", "alice/from-bob:1.0")
    assert refused.returncode != 0
    assert re.search(r"denied|unauthorized", refused.stderr, re.IGNORECASE)


# -- the teacher's sheet ---------------------------------------------------------------------


def test_export_hands_out_every_students_password(
    registry: ThrowawayRegistry, run_labdock, tmp_path: Path
) -> None:
    result = run_labdock("accounts", "export", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["name"] for row in rows] == sorted(CLASS)
    for row in rows:
        assert row["password"] == registry.account_password(row["name"])
        assert row["namespace"] == f"{row['name']}/"
        assert row["login"] == f"docker login {registry.address} -u {row['name']}"
    sheet = tmp_path / "sheet.html"
    result = run_labdock("accounts", "export", "--format", "html", "--output", str(sheet))
    assert result.returncode == 0, result.stderr
    assert sheet.stat().st_mode & 0o777 == 0o600
    assert registry.account_password("carol") in sheet.read_text()


def test_passwords_are_private_files(registry: ThrowawayRegistry) -> None:
    for account in registry.accounts_index()["accounts"]:
        assert Path(account["password_file"]).stat().st_mode & 0o777 == 0o600
    token_dir = registry.deploy_dir / "token"
    assert (token_dir / "accounts.json").stat().st_mode & 0o777 == 0o600
    assert (token_dir / "signing.key").stat().st_mode & 0o777 == 0o600


def test_token_service_down_is_one_line_naming_the_realm(
    registry: ThrowawayRegistry, run_labdock
) -> None:
    registry.compose("stop", "token")
    try:
        result = run_labdock("catalog")
    finally:
        registry.compose("up", "-d", "--wait")
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"labdock: token service {registry.realm} (the registry's realm) failed: cannot reach "
    )
    assert len(result.stderr.splitlines()) == 1
