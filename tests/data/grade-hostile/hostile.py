"""A hostile hand-in's server program (tests/integration/test_grade_hostile.py). HOSTILE picks
what it attacks; it ends with one line saying what it tried and what happened, which the
grader shows as the exited container's last line."""

import os
import socket
import sys
import time

MB = 1 << 20


def reach() -> str:
    """Connect to each NAME=HOST:PORT of TARGETS (addresses on this machine only)."""
    results = []
    for target in os.environ["TARGETS"].split(","):
        name, address = target.split("=")
        host, port = address.rsplit(":", 1)
        try:
            with socket.create_connection((host, int(port)), timeout=2):
                outcome = "connected"
        except OSError as exc:
            outcome = type(exc).__name__
        results.append(f"{name}={outcome}")
    return "NET " + " ".join(results)


def fork_bomb() -> str:
    children = 0
    try:
        while True:
            if os.fork() == 0:
                time.sleep(3600)
                os._exit(0)
            children += 1
    except OSError as exc:
        return f"FORK made {children} then {type(exc).__name__}"


def memory_hog() -> str:
    hoard = []
    while True:
        hoard.append(bytearray(16 * MB))
        # Each step said before the next one: an OOM kill leaves the last size reached.
        print(f"MEM holding {len(hoard) * 16} MB", flush=True)


def disk_filler() -> str:
    results = []
    for folder in ("/tmp", "/", "/app"):
        written = 0
        try:
            with open(os.path.join(folder, "filler"), "wb") as handle:
                while written < 2048 * MB:
                    handle.write(b"\0" * MB)
                    handle.flush()
                    written += MB
            outcome = "no limit"
        except OSError as exc:
            outcome = exc.strerror or type(exc).__name__
        results.append(f"{folder}={written // MB}MB:{outcome}")
    return "DISK " + " ".join(results)


def layer_filler() -> str:
    """1 GB into the container layer of a writable root, at 128 MB/s: a steady writer, which
    the grader's layer watch (a listing every 2 s) stops a few seconds past its limit. A
    burst faster than one interval is past the limit before the next listing."""
    written = 0
    with open("/app/filler", "wb") as handle:
        while written < 1024 * MB:
            started = time.monotonic()
            for _ in range(16):
                handle.write(b"\0" * MB)
            handle.flush()
            written += 16 * MB
            print(f"LAYER wrote {written // MB} MB", flush=True)
            time.sleep(max(0.0, 0.125 - (time.monotonic() - started)))
    return "LAYER wrote 1024 MB: no limit"


def overwrite_hand_in() -> str:
    """Overwrite this program in the hand-in folder, mounted on /handin."""
    try:
        with open("/handin/hostile.py", "w") as handle:
            handle.write("# overwritten by the hand-in\n")
        return "HANDIN /handin/hostile.py: overwritten"
    except OSError as exc:
        return f"HANDIN /handin/hostile.py: {exc.strerror or type(exc).__name__}"


def volume_filler() -> str:
    """Overwrite the hand-in, then 1 GB into the named volume on /data, as fast as it goes;
    each line says what became of the hand-in too (the last one may be a progress line)."""
    hand_in = overwrite_hand_in()
    written = 0
    try:
        with open("/data/filler", "wb") as handle:
            while written < 1024 * MB:
                handle.write(b"\0" * MB)
                handle.flush()
                written += MB
                if written % (16 * MB) == 0:
                    # Said as it goes: a memory limit's kill leaves the last size reached.
                    print(f"VOLUME wrote {written // MB} MB; {hand_in}", flush=True)
        outcome = "no limit"
    except OSError as exc:
        outcome = exc.strerror or type(exc).__name__
    return f"VOLUME wrote {written // MB} MB: {outcome}; {hand_in}"


def log_flood() -> str:
    line = "x" * 1023 + "\n"
    for _ in range(40 * 1024):
        sys.stdout.write(line)
    sys.stdout.flush()
    return "FLOOD printed 40 MB"


ATTACKS = {
    "net": reach,
    "fork": fork_bomb,
    "mem": memory_hog,
    "disk": disk_filler,
    "flood": log_flood,
    "layer": layer_filler,
    "volume": volume_filler,
}

if __name__ == "__main__":
    print(ATTACKS[os.environ["HOSTILE"]](), flush=True)
