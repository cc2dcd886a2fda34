"""student_age API: auth, data file handling, ages as strings."""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from student_age.app import AGES_PATH, create_app
from student_age.config import ConfigError, Credentials, Settings, load_settings
from student_age.store import DataFileError, parse_ages

SAMPLE = Path(__file__).resolve().parents[3] / "apps/student_age/data/student_age.json"
CREDS = Credentials("teacher", "s3cret")


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def client_for(data_file: Path, credentials: Credentials | None = CREDS) -> FlaskClient:
    return create_app(Settings(data_file=data_file, credentials=credentials)).test_client()


def write(path: Path, content: object) -> Path:
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


def test_ages_are_served_as_strings(tmp_path: Path) -> None:
    data = write(tmp_path / "ages.json", {"alice": 12, "bob": "13"})
    response = client_for(data).get(AGES_PATH, headers=basic("teacher", "s3cret"))
    assert response.status_code == 200
    assert response.get_json() == {"student_ages": {"alice": "12", "bob": "13"}}


def test_shipped_sample_file_is_valid() -> None:
    response = client_for(SAMPLE).get(AGES_PATH, headers=basic("teacher", "s3cret"))
    ages = response.get_json()["student_ages"]
    assert ages and all(isinstance(age, str) for age in ages.values())


@pytest.mark.parametrize(
    "headers",
    [{}, basic("teacher", "wrong"), basic("someone", "s3cret"), {"Authorization": "Bearer x"}],
    ids=["missing", "wrong-password", "wrong-user", "not-basic"],
)
def test_bad_credentials_get_401_with_challenge(tmp_path: Path, headers: dict[str, str]) -> None:
    response = client_for(write(tmp_path / "a.json", {"a": 1})).get(AGES_PATH, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert "student_ages" not in response.get_json()


def test_unconfigured_credentials_refuse_everything(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        client = client_for(write(tmp_path / "a.json", {"a": 1}), credentials=None)
    assert "no credentials configured" in caplog.text
    assert client.get(AGES_PATH, headers=basic("", "")).status_code == 503
    assert client.get("/healthcheck").status_code == 503


def test_missing_data_file_serves_empty_list_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "absent.json"
    with caplog.at_level(logging.WARNING):
        client = client_for(missing)
    assert f"data file {missing} is missing" in caplog.text
    response = client.get(AGES_PATH, headers=basic("teacher", "s3cret"))
    assert response.status_code == 200
    assert response.get_json() == {"student_ages": {}}
    assert client.get("/healthcheck").status_code == 200


def test_file_changes_are_picked_up(tmp_path: Path) -> None:
    data = tmp_path / "ages.json"
    client = client_for(data)
    auth = basic("teacher", "s3cret")
    assert client.get(AGES_PATH, headers=auth).get_json() == {"student_ages": {}}
    write(data, {"alice": 12})
    assert client.get(AGES_PATH, headers=auth).get_json() == {"student_ages": {"alice": "12"}}
    write(data, {"alice": 12, "zoe": 14})
    # Same second, different size: the (mtime_ns, size) stamp still changes.
    os.utime(data, ns=(0, 0))
    assert client.get(AGES_PATH, headers=auth).get_json()["student_ages"] == {
        "alice": "12",
        "zoe": "14",
    }


def test_broken_data_file_is_a_clear_500(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "ages.json"
    data.write_text("{not json", encoding="utf-8")
    client = client_for(data)
    response = client.get(AGES_PATH, headers=basic("teacher", "s3cret"))
    assert response.status_code == 500
    assert str(data) in response.get_json()["error"]
    assert "is not valid JSON" in caplog.text


def test_parse_ages_accepts_wrapped_answer_and_rejects_garbage() -> None:
    assert parse_ages({"student_ages": {"a": 1}}) == {"a": "1"}
    for bad in ([1, 2], {"a": [1]}, {"a": True}, {"a": None}):
        with pytest.raises(DataFileError):
            parse_ages(bad)


def test_settings_from_env_and_secret_files(tmp_path: Path) -> None:
    (tmp_path / "user").write_text("teacher\n", encoding="utf-8")
    (tmp_path / "pass").write_text("s3cret\n", encoding="utf-8")
    settings = load_settings(
        {
            "STUDENT_AGE_USERNAME_FILE": str(tmp_path / "user"),
            "STUDENT_AGE_PASSWORD_FILE": str(tmp_path / "pass"),
            "STUDENT_AGE_DATA_FILE": "/srv/a.json",
        }
    )
    assert settings.credentials == CREDS
    assert settings.data_file == Path("/srv/a.json")
    assert "s3cret" not in repr(settings)


def test_settings_without_credentials_or_with_half_of_them() -> None:
    assert load_settings({}).credentials is None
    assert load_settings({}).data_file == Path("/data/student_age.json")
    assert load_settings({"STUDENT_AGE_USERNAME": "teacher"}).credentials is None


def test_unreadable_secret_file_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="STUDENT_AGE_PASSWORD_FILE"):
        load_settings({"STUDENT_AGE_PASSWORD_FILE": str(tmp_path / "nope")})
