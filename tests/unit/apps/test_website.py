"""website: name validation, offline placeholder, persisted query counts."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from website.app import create_app
from website.heads import PLACEHOLDER_IMAGE, HeadsService, probe
from website.stats import QueryLog


class FakeProbe:
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.calls: list[str] = []

    def __call__(self, url: str, timeout: float) -> bool:
        self.calls.append(url)
        return self.answer


def make_client(tmp_path: Path, online: bool) -> FlaskClient:
    heads = HeadsService("https://heads.example/avatar/{name}", 1, 60, probe=FakeProbe(online))
    return create_app(heads, tmp_path / "queried_names.json").test_client()


def test_form_is_shown_without_a_name(tmp_path: Path) -> None:
    response = make_client(tmp_path, online=True).get("/")
    assert response.status_code == 200
    assert b'name="name"' in response.data


def test_online_query_shows_the_service_image_and_counts(tmp_path: Path) -> None:
    client = make_client(tmp_path, online=True)
    page = client.get("/?name=Notch").get_data(as_text=True)
    assert 'src="https://heads.example/avatar/Notch"' in page
    assert "unreachable" not in page
    client.get("/?name=notch")
    stored = json.loads((tmp_path / "queried_names.json").read_text(encoding="utf-8"))
    assert stored == {"notch": 2}
    assert client.get("/stats").get_json() == {"queried_names": {"notch": 2}}


def test_offline_query_still_answers_with_placeholder(tmp_path: Path) -> None:
    response = make_client(tmp_path, online=False).get("/?name=Steve_01")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert PLACEHOLDER_IMAGE in page
    assert "heads service is unreachable" in page


@pytest.mark.parametrize("name", ["ab", "a" * 17, "bad-name", "<script>", "", "é" * 5])
def test_invalid_player_name_is_400_and_not_recorded(tmp_path: Path, name: str) -> None:
    response = make_client(tmp_path, online=True).get("/", query_string={"name": name})
    assert response.status_code == 400
    assert "3 to 16 characters" in response.get_data(as_text=True)
    assert b"<script>" not in response.data
    assert not (tmp_path / "queried_names.json").exists()


def test_counts_survive_a_new_app_on_the_same_file(tmp_path: Path) -> None:
    make_client(tmp_path, online=False).get("/?name=Alex")
    make_client(tmp_path, online=False).get("/?name=Alex")
    assert QueryLog(tmp_path / "queried_names.json").counts() == {"alex": 2}


def test_concurrent_records_lose_nothing(tmp_path: Path) -> None:
    log = QueryLog(tmp_path / "q.json")
    threads = [
        threading.Thread(target=lambda: [log.record("x") for _ in range(20)]) for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert log.counts() == {"x": 100}
    assert [p.name for p in tmp_path.iterdir()] == ["q.json"], "temp files left behind"


def test_corrupt_stats_file_is_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_text("{oops", encoding="utf-8")
    assert QueryLog(path).record("x") == 1
    assert (tmp_path / "q.json.corrupt").read_text(encoding="utf-8") == "{oops"


def test_reachability_is_cached_for_the_ttl() -> None:
    now = [0.0]
    fake = FakeProbe(False)
    heads = HeadsService(
        "https://heads.example/avatar/{name}", 1, 60, probe=fake, clock=lambda: now[0]
    )
    assert not heads.reachable()
    now[0] = 59
    assert not heads.reachable()
    assert fake.calls == ["https://heads.example/"]
    now[0] = 60
    fake.answer = True
    assert heads.reachable()
    assert len(fake.calls) == 2


def test_probe_reports_a_refused_service_as_unreachable(closed_port: int) -> None:
    assert probe(f"http://127.0.0.1:{closed_port}/", 1) is False
