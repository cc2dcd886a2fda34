"""Flask application: the player-head form, the query statistics and a health check."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from flask import Flask, render_template, request

from .heads import PLACEHOLDER_IMAGE, HeadsService
from .stats import QueryLog

log = logging.getLogger(__name__)

# Mojang's rule for player names.
PLAYER_NAME = re.compile(r"[A-Za-z0-9_]{3,16}")
DEFAULT_HEADS_URL = "https://mc-heads.net/avatar/{name}"
DEFAULT_STATS_FILE = "/app/queried_names.json"


def create_app(heads: HeadsService | None = None, stats_file: Path | None = None) -> Flask:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    heads = heads or HeadsService(
        os.environ.get("HEADS_URL") or DEFAULT_HEADS_URL,
        timeout=float(os.environ.get("HEADS_CHECK_TIMEOUT", "2")),
        ttl=float(os.environ.get("HEADS_CHECK_TTL", "60")),
    )
    queries = QueryLog(
        stats_file or Path(os.environ.get("QUERIED_NAMES_FILE") or DEFAULT_STATS_FILE)
    )
    app = Flask(__name__)

    @app.get("/")
    def index() -> tuple[str, int]:
        name = request.args.get("name")
        if name is None:
            return render_template("index.html"), 200
        name = name.strip()
        if not PLAYER_NAME.fullmatch(name):
            error = "A Minecraft player name has 3 to 16 characters: letters, digits, underscores."
            return render_template("index.html", name=name, error=error), 400
        # Names are case-insensitive in Minecraft: count "Notch" and "notch" as one player.
        count = queries.record(name.lower())
        online = heads.reachable()
        image = heads.image_url(name) if online else PLACEHOLDER_IMAGE
        return render_template(
            "index.html", name=name, image=image, online=online, count=count
        ), 200

    @app.get("/stats")
    def stats() -> dict[str, dict[str, int]]:
        return {"queried_names": queries.counts()}

    @app.get("/healthcheck")
    def healthcheck() -> dict[str, str]:
        return {"status": "ok"}

    return app
