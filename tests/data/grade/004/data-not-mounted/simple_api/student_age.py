import json
import os

from flask import Flask, jsonify, request

app = Flask(__name__)
# The credentials come from the environment (docker-compose.yml), never from the image.
USERNAME = os.environ["USERNAME"]
PASSWORD = os.environ["PASSWORD"]
with open("/data/student_age.json", encoding="utf-8") as data:
    STUDENTS = json.load(data)


@app.route("/supmit/api/v1.0/get_student_ages")
def get_student_ages():
    auth = request.authorization
    if auth is None or auth.username != USERNAME or auth.password != PASSWORD:
        return jsonify({"error": "Unauthorized access"}), 401
    return jsonify({"student_ages": STUDENTS})


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
