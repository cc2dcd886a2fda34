"""Token auth against htpasswd, on two registries the registry role deploys in the same run.

1. The registry's own ceiling: keep-alive GET of one manifest over 16 connections, with wrk
   (Debian package `wrk`, C, event loop: on two shared cores a Python client would measure
   itself rather than the registry). htpasswd sends Basic credentials, which the registry
   checks with bcrypt (cost 5, as deployed) on every request; token auth sends a Bearer
   token, which the registry checks with one ECDSA signature verification.
2. `labdock catalog` (the console script, as a user runs it) over REPOS x TAGS under both.

The figures are printed, never asserted. Goal of the issue: ceiling ratio of at least 1.5x.
"""

from __future__ import annotations

import argparse
import base64
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import requests

from labdock.registry import DOCKER_MANIFEST, RegistryClient
from tests.harness.populate import TinyImage, fill
from tests.harness.registry import ThrowawayRegistry

LABDOCK = Path(sys.executable).parent / "labdock"
CEILING_REPOSITORY = "bench/ceiling"


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench auth", description=__doc__)
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--tags", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--bcrypt-rounds", type=int, default=5, help="htpasswd cost (deployed: 5)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench auth: needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="labdock-bench-") as workdir, ExitStack() as stack:
        labs = {}
        for auth in ("token", "htpasswd"):
            started = time.perf_counter()
            labs[auth] = stack.enter_context(
                ThrowawayRegistry(
                    Path(workdir) / auth,
                    project_prefix="labdock-bench-auth",
                    bcrypt_rounds=args.bcrypt_rounds,
                    auth=auth,
                )
            )
            print(f"{auth:<9} registry {labs[auth].url} up in {time.perf_counter() - started:.0f}s")
        image = TinyImage.make()
        ceilings = {auth: _ceiling(lab, image, args) for auth, lab in labs.items()}
        walks = {auth: _catalog(lab, image, args) for auth, lab in labs.items()}

    print(f"\n{'auth':<10}{'manifest GET/s':>16}{'catalog wall s':>16}")
    for auth in labs:
        print(f"{auth:<10}{ceilings[auth]:>16.0f}{walks[auth]:>16.2f}")
    print(
        f"ceiling: tokens {ceilings['token'] / ceilings['htpasswd']:.2f}x htpasswd "
        f"({args.connections} keep-alive connections, {args.duration}s each); "
        f"catalog of {args.repos} x {args.tags}: tokens "
        f"{walks['htpasswd'] / walks['token']:.2f}x htpasswd"
    )
    return 0


def _ceiling(lab: ThrowawayRegistry, image: TinyImage, args: argparse.Namespace) -> float:
    with RegistryClient(lab.settings) as admin:
        image.upload(admin, CEILING_REPOSITORY)
        admin.put_manifest(CEILING_REPOSITORY, "1", image.manifest())
    url = f"{lab.url}/v2/{CEILING_REPOSITORY}/manifests/1"
    if lab.auth == "token":
        # One pull token, as a client holds it: valid for the whole run (ttl 300 s).
        response = requests.get(
            lab.realm,
            params={"scope": f"repository:{CEILING_REPOSITORY}:pull"},
            auth=lab.settings.credentials,
            verify=str(lab.certs.ca_cert),
            timeout=30,
        )
        response.raise_for_status()
        authorization = f"Bearer {response.json()['token']}"
    else:
        basic = base64.b64encode(f"{lab.settings.username}:{lab.password}".encode()).decode()
        authorization = f"Basic {basic}"
    check = requests.get(
        url,
        headers={"Authorization": authorization, "Accept": DOCKER_MANIFEST},
        verify=str(lab.certs.ca_cert),
        timeout=30,
    )
    check.raise_for_status()
    result = subprocess.run(
        [
            "wrk",
            f"-c{args.connections}",
            "-t2",
            f"-d{args.duration}s",
            "-H",
            f"Authorization: {authorization}",
            "-H",
            f"Accept: {DOCKER_MANIFEST}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    # wrk counts non-2xx answers apart: a ceiling made of refusals would be no ceiling.
    if "Non-2xx" in result.stdout:
        raise SystemExit(f"bench auth: {lab.auth} answered errors under load:\n{result.stdout}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
    print(f"{lab.auth:<9} ceiling: {rate:.0f} manifest GET/s")
    return rate


def _catalog(lab: ThrowawayRegistry, image: TinyImage, args: argparse.Namespace) -> float:
    names = [f"bench/r{i:05d}" for i in range(args.repos)]
    started = time.perf_counter()
    with RegistryClient(lab.settings) as admin:
        fill(admin, image, names, [f"t{i}" for i in range(args.tags)])
    print(
        f"{lab.auth:<9} filled {args.repos} x {args.tags} in {time.perf_counter() - started:.0f}s"
    )
    started = time.perf_counter()
    result = subprocess.run(
        [str(LABDOCK), "catalog", "--json"], env=lab.cli_env(), capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"bench auth: labdock catalog failed on {lab.auth}: {result.stderr}")
    print(f"{lab.auth:<9} labdock catalog: {seconds:.2f}s")
    return seconds
