import json
import logging
import os

from flask import Flask, jsonify

app = Flask(__name__)
# The settings file was never copied into the image: the app ends at start, and the restart
# policy starts it again, and again.
with open("config.json", encoding="utf-8") as settings:
    MESSAGE = json.load(settings)["message"]


@app.route("/")
def index():
    return jsonify(service="backend", message=MESSAGE)


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
