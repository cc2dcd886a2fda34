import json
import os

from flask import Flask, jsonify

app = Flask(__name__)
# The credentials come from the environment (docker-compose.yml), never from the image.
USERNAME = os.environ["USERNAME"]
PASSWORD = os.environ["PASSWORD"]
DATA_FILE = "/data/student_age.json"


@app.route("/supmit/api/v1.0/get_student_ages")
def get_student_ages():
    with open(DATA_FILE, encoding="utf-8") as handle:
        return jsonify({"student_ages": json.load(handle)})


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
