"""Sent to each room host and run there by its python3 (`python3 -`), standard library only:
what `labdock room status` reports about the host, as one JSON object on stdout.

Its argument is the settings file the labdock_cli role wrote (the registry as this host
reaches it), and runs the host's own `labdock verify --json` for the stacks."""

import json
import os
import pwd
import subprocess
import sys

# The docker login of the account the probe runs as (root, through sudo, on the README's
# inventory): read from its passwd entry, since sudo may keep the caller's HOME.
DOCKER_CONFIG = os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".docker", "config.json")


def _run(argv):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, "", str(exc)
    return done.returncode, done.stdout, done.stderr


def _last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def probe(client_config):
    report = {"docker": None, "registry": None, "trusted": False, "logged_in": False}
    code, out, err = _run(["docker", "version", "--format", "{{.Server.Version}}"])
    if code == 0:
        report["docker"] = out.strip()
    else:
        report["docker_error"] = _last_line(err or out)
    try:
        with open(client_config, encoding="utf-8") as handle:
            address = json.load(handle)["url"].split("://", 1)[-1]
    except (OSError, ValueError, KeyError) as exc:
        report["registry_error"] = f"{client_config}: {exc} (run site.yml on this host)"
        return report
    report["registry"] = address
    report["trusted"] = os.path.isfile(f"/etc/docker/certs.d/{address}/ca.crt")
    try:
        with open(DOCKER_CONFIG, encoding="utf-8") as handle:
            report["logged_in"] = address in json.load(handle).get("auths", {})
    except (OSError, ValueError):
        pass
    if report["docker"] is not None:
        code, out, err = _run(["labdock", "verify", "--json"])
        try:
            report["verify"] = json.loads(out)
        except ValueError:
            report["verify_error"] = _last_line(err or out)
    return report


print(json.dumps(probe(sys.argv[1])))
