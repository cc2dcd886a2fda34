import json
import os
import urllib.request

from flask import Flask, request

app = Flask(__name__)
DATA_FILE = "/app/queried_names.json"
HEADS = "https://mc-heads.net/avatar/{name}"


def record(name):
    names = {}
    if os.path.exists(DATA_FILE):
        with open(DATA_FILE) as f:
            names = json.load(f)
    names[name] = names.get(name, 0) + 1
    with open(DATA_FILE, "w") as f:
        json.dump(names, f)


def head_url(name):
    url = HEADS.format(name=name)
    urllib.request.urlopen(url, timeout=3).close()
    return url, ""


@app.route("/", methods=["GET", "POST"])
def index():
    page = "<form method='post'><input name='username'><button>Show</button></form>"
    if request.method == "POST":
        name = request.form["username"]
        record(name)
        url, warning = head_url(name)
        page += f"<h2>{name}</h2><img src='{url}'><p>{warning}</p>"
    return page


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
