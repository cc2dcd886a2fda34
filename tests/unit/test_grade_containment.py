"""What containment does to a student's compose model before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from labdock.grade.containment import (
    VOLUME_HOLDER,
    WRITABLE_LABEL,
    Limits,
    Privileges,
    contain,
    cover_image_volumes,
    hold_volumes,
    outside_reads,
    tmpfs_volume,
)

LABELS = {"labdock.grade.run": "r1"}


def _model(root: Path, **service: object) -> dict[str, object]:
    return {"name": "student", "services": {"app": {"image": "x", **service}}}


def test_escapes_are_removed_and_named(tmp_path: Path) -> None:
    model = _model(
        tmp_path,
        privileged=True,
        cap_add=["SYS_ADMIN"],
        devices=[{"source": "/dev/kmsg", "target": "/dev/kmsg"}],
        pid="host",
        network_mode="host",
        volumes=[
            {"type": "bind", "source": "/", "target": "/host"},
            {"type": "bind", "source": str(tmp_path / "data"), "target": "/data"},
            {"type": "volume", "source": "cache", "target": "/cache"},
        ],
        ports=[{"target": 5000, "published": "5000"}],
        container_name="fixed",
    )
    contained, notes = contain(model, tmp_path, LABELS, Limits())
    app = contained["services"]["app"]
    for key in ("privileged", "devices", "pid", "network_mode", "ports"):
        assert key not in app, key
    assert (app["cap_drop"], app["cap_add"]) == (["ALL"], [])
    assert "container_name" not in app
    assert [v["target"] for v in app["volumes"]] == ["/data", "/cache"]
    joined = "; ".join(notes)
    for word in ("privileged", "cap_add", "devices", "pid", "network_mode host", "/ outside"):
        assert word in joined, word
    assert "name" not in contained


def test_binds_inside_the_hand_in_never_write_to_it(tmp_path: Path) -> None:
    (tmp_path / "website").mkdir()
    (tmp_path / "website" / "index.php").write_text("<?php echo 1;")
    (tmp_path / "ages.json").write_text("{}")
    (tmp_path / "pgdata").mkdir()
    model = _model(
        tmp_path,
        volumes=[
            {"type": "bind", "source": str(tmp_path / "website"), "target": "/var/www/html"},
            {"type": "bind", "source": str(tmp_path / "ages.json"), "target": "/d.json"},
            {"type": "bind", "source": str(tmp_path / "pgdata"), "target": "/var/lib/pg"},
            {"type": "bind", "source": str(tmp_path / "missing"), "target": "/logs"},
            {"type": "bind", "source": str(tmp_path / "ages.json"), "target": "/ro.json",
             "read_only": True},
        ],
    )  # fmt: skip
    contained, notes = contain(model, tmp_path, LABELS, Limits())
    volumes = {v["target"]: v for v in contained["services"]["app"]["volumes"]}
    # What the hand-in brings is read, never written.
    assert volumes["/var/www/html"]["read_only"] is True
    assert volumes["/d.json"]["read_only"] is True
    # An empty or missing folder is where a program writes: a tmpfs volume instead.
    for target in ("/var/lib/pg", "/logs"):
        source = volumes[target]["source"]
        assert volumes[target]["type"] == "volume", target
        assert contained["volumes"][source] == tmpfs_volume(LABELS, Limits())
    assert sorted(notes) == [
        "app: bind mount of ./ages.json made read-only",
        "app: bind mount of ./website made read-only",
        "app: bind mount of the empty folder ./missing replaced by a volume",
        "app: bind mount of the empty folder ./pgdata replaced by a volume",
    ]


def test_limits_labels_and_private_networks_are_added(tmp_path: Path) -> None:
    model = _model(tmp_path, cpus=8)
    model["networks"] = {"front": {"external": True, "name": "host"}}
    model["volumes"] = {"data": {"driver_opts": {"type": "none", "o": "bind", "device": "/etc"}}}
    contained, notes = contain(model, tmp_path, LABELS, Limits(cpus=0.5, memory="64m", pids=32))
    app = contained["services"]["app"]
    assert app["cpus"] == 0.5
    assert (app["mem_limit"], app["memswap_limit"], app["pids_limit"]) == ("64m", "64m", 32)
    assert app["labels"] == {**LABELS, WRITABLE_LABEL: "true"}
    assert app["security_opt"] == ["no-new-privileges:true"]
    assert contained["networks"] == {
        "front": {"internal": True, "labels": LABELS},
        "default": {"internal": True, "labels": LABELS},
    }
    assert contained["volumes"] == {"data": tmpfs_volume(LABELS, Limits())}
    assert any("external network" in n for n in notes)
    assert any("driver_opts" in n for n in notes)


def test_secret_files_outside_the_submission_are_dropped(tmp_path: Path) -> None:
    model = _model(tmp_path, secrets=[{"source": "key"}, {"source": "mine"}])
    model["secrets"] = {
        "key": {"file": "/root/.ssh/id_rsa"},
        "mine": {"file": str(tmp_path / "secret.txt")},
    }
    contained, notes = contain(model, tmp_path, LABELS, Limits())
    assert set(contained["secrets"]) == {"mine"}
    assert contained["services"]["app"]["secrets"] == [{"source": "mine"}]
    assert any("secret key" in n for n in notes)


def test_the_students_model_is_left_untouched(tmp_path: Path) -> None:
    model = _model(tmp_path, privileged=True)
    contain(model, tmp_path, LABELS, Limits())
    assert model["services"]["app"]["privileged"] is True


def test_files_compose_would_read_outside_the_submission_are_named(tmp_path: Path) -> None:
    submission = tmp_path / "alice"
    submission.mkdir()
    raw = {
        "include": ["../other/compose.yaml"],
        "services": {
            "server": {"env_file": ["server.env", "/etc/shadow"]},
            "client": {"env_file": {"path": "../../secrets.env", "required": False}},
            "web": {"extends": {"file": "/var/lib/labdock/compose.yaml", "service": "x"}},
            "ok": {"env_file": "ok.env", "extends": {"service": "server"}},
        },
    }
    found = outside_reads(raw, submission, submission)
    assert found == [
        "include ../other/compose.yaml is outside the submission",
        "service server: env_file /etc/shadow is outside the submission",
        "service client: env_file ../../secrets.env is outside the submission",
        "service web: extends file /var/lib/labdock/compose.yaml is outside the submission",
    ]


@pytest.mark.parametrize("mode", ["bridge", "host", "container:lab-registry", "default"])
def test_only_the_projects_internal_networks_remain(tmp_path: Path, mode: str) -> None:
    # The default bridge reaches the host's published ports (the lab registry, its token
    # service, the stacks): refused like host and another container's namespace.
    contained, notes = contain(_model(tmp_path, network_mode=mode), tmp_path, LABELS, Limits())
    assert "network_mode" not in contained["services"]["app"]
    assert notes == [f"app: network_mode {mode} removed"]
    assert contained["networks"] == {"default": {"internal": True, "labels": LABELS}}


def test_no_network_at_all_is_kept(tmp_path: Path) -> None:
    contained, notes = contain(_model(tmp_path, network_mode="none"), tmp_path, LABELS, Limits())
    assert contained["services"]["app"]["network_mode"] == "none"
    assert notes == []


def test_a_grid_adds_back_named_capabilities_and_a_read_only_root(tmp_path: Path) -> None:
    model = _model(tmp_path, cap_add=["NET_ADMIN"], cap_drop=["MKNOD"], read_only=False)
    model["services"]["db"] = {"image": "postgres"}
    privileges = Privileges(capabilities={"db": ("CHOWN", "SETUID")}, read_only=True)
    contained, notes = contain(model, tmp_path, LABELS, Limits(tmpfs_size="8m"), privileges)
    app, db = contained["services"]["app"], contained["services"]["db"]
    assert (app["cap_drop"], app["cap_add"]) == (["ALL"], [])
    assert (db["cap_drop"], db["cap_add"]) == (["ALL"], ["CHOWN", "SETUID"])
    for service in (app, db):
        assert service["read_only"] is True
        assert WRITABLE_LABEL not in service["labels"]
        assert service["tmpfs"] == ["/tmp:size=8m"]
        assert service["logging"]["options"]["max-size"] == Limits().log_size
    assert notes == ["app: `cap_add` removed"]


def test_every_volume_becomes_a_tmpfs_of_the_disk_size(tmp_path: Path) -> None:
    model = _model(
        tmp_path,
        volumes=[
            {"type": "volume", "source": "data", "target": "/data"},
            {"type": "volume", "target": "/cache"},
        ],
    )
    model["volumes"] = {
        "data": {"driver": "local", "driver_opts": {"type": "none", "o": "bind", "device": "/"}},
        "spare": None,
    }
    contained, notes = contain(model, tmp_path, LABELS, Limits(disk_size="64m"))
    sized = {
        "driver": "local",
        "driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": "size=64m"},
        "labels": LABELS,
    }
    # The anonymous one is named, so that it is a tmpfs too rather than a folder on disk.
    assert contained["volumes"] == {"data": sized, "spare": sized, "app-volume-1": sized}
    assert [v["source"] for v in contained["services"]["app"]["volumes"]] == [
        "data",
        "app-volume-1",
    ]
    assert notes == ["volume data: external volume, driver or driver_opts replaced by a plain one"]


def test_an_images_volume_with_nothing_mounted_on_it_gets_a_tmpfs(tmp_path: Path) -> None:
    model = _model(tmp_path, volumes=[{"type": "volume", "source": "pg", "target": "/var/lib/pg/"}])
    model["volumes"] = {"pg": {}, "app-volume-1": {}}
    contained, _ = contain(model, tmp_path, LABELS, Limits(), Privileges(read_only=True))
    cover_image_volumes(contained, "app", ["/var/lib/pg", "/tmp", "/logs"], LABELS, Limits())
    mounts = contained["services"]["app"]["volumes"]
    assert [(m["source"], m["target"]) for m in mounts] == [
        ("pg", "/var/lib/pg/"),
        ("app-volume-2", "/logs"),
    ]
    assert contained["volumes"]["app-volume-2"] == tmpfs_volume(LABELS, Limits())


def test_a_holder_keeps_every_volume_mounted(tmp_path: Path) -> None:
    model = _model(tmp_path, volumes=[{"type": "volume", "source": "data", "target": "/data"}])
    model["volumes"] = {"data": {}, "logs": {}}
    contained, _ = contain(model, tmp_path, LABELS, Limits(memory="64m"))
    assert hold_volumes(contained, "helper:1", LABELS, Limits(memory="64m"))
    holder = contained["services"][VOLUME_HOLDER]
    assert holder["image"] == "helper:1"
    assert [(m["source"], m["read_only"], m["volume"]) for m in holder["volumes"]] == [
        ("data", True, {"nocopy": True}),
        ("logs", True, {"nocopy": True}),
    ]
    assert (holder["network_mode"], holder["read_only"], holder["cap_drop"]) == (
        "none",
        True,
        ["ALL"],
    )
    # Read-only: not one the layer watch lists.
    assert (holder["mem_limit"], holder["labels"]) == ("64m", LABELS)


def test_no_holder_without_volumes(tmp_path: Path) -> None:
    contained, _ = contain(_model(tmp_path), tmp_path, LABELS, Limits())
    assert not hold_volumes(contained, "helper:1", LABELS, Limits())
    assert set(contained["services"]) == {"app"}
