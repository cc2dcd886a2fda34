import json
import logging
import os
import urllib.request

from flask import Flask, jsonify

app = Flask(__name__)
BACKEND_URL = os.environ.get("BACKEND_URL", "http://backend:5000/")


@app.route("/")
def index():
    with urllib.request.urlopen(BACKEND_URL, timeout=3) as response:
        backend = json.load(response)
    return jsonify(service="frontend", backend=backend)


@app.route("/healthcheck")
def healthcheck():
    return jsonify(status="ok")


@app.route("/traceback")
def traceback():
    try:
        raise RuntimeError("traceback requested")
    except RuntimeError:
        logging.exception("crashing on purpose")
        os._exit(1)


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
