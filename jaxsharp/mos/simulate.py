"""`python -m jaxsharp.mos simulate`: simulated participants rating a study over HTTP, concurrently.

    python -m jaxsharp.mos simulate --study STUDY_DIR --db sim.sqlite --participants 20 --seed 0

A dry run of a setup before people come, and the load test of the suite: the study is served on a free
loopback port in this process and every simulated participant is a thread with its own cookie that starts and
rates every item through the same HTTP API as the page. Ratings follow a toy model (TRUE_QUALITY of the
method, a bias per rater, noise; rounded and clipped to 1..5) that depends only on (seed, participant, image,
method), so the ratings are the same whatever the interleaving of the threads, and for any `prepare` run of the
same sets and methods. The database must be new:
simulated rows (user agent USER_AGENT) must never mix with people's.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import http.cookies
import json
import os
import pathlib
import random
from urllib.parse import urlsplit

from jaxsharp.mos import server as server_lib
from jaxsharp.mos import store as store_lib
from jaxsharp.mos import study as study_lib

USER_AGENT = "jaxsharp-mos-simulate"
# A made-up "true" ACR score per method for the toy raters; nothing measured.
TRUE_QUALITY = {"bicubic": 2.4, "lanczos": 2.7, "unsharp": 3.0, "student": 3.6, "teacher": 4.0, "hr": 4.4}
RATER_BIAS_SD = 0.35
RATING_NOISE_SD = 0.7
VIEWPORTS = ((1920, 1080), (1440, 900), (1280, 800), (2560, 1440))


class Client:
    """One participant's HTTP client: keeps the participant cookie the server sets, as a browser would."""

    def __init__(self, base_url: str, *, cookie: str | None = None, user_agent: str = USER_AGENT):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.cookie = cookie
        self.user_agent = user_agent

    def request(self, method: str, path: str, body=None, *, raw: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict | None]:
        """Sends `body` as JSON (or `raw` bytes as they are); returns (status, JSON answer or None)."""
        sent = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if self.cookie is not None:
            sent["Cookie"] = f"{server_lib.COOKIE}={self.cookie}"
        if body is not None or raw is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            payload = response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                morsel = http.cookies.SimpleCookie(header).get(server_lib.COOKIE)
                if morsel is not None:
                    self.cookie = morsel.value
        finally:
            conn.close()
        try:
            return response.status, json.loads(payload)
        except ValueError:
            return response.status, None

    def start(self) -> dict:
        status, state = self.request("POST", "/api/start", {})
        if status != 200:
            raise RuntimeError(f"POST /api/start answered {status}: {state}")
        return state

    def state(self) -> tuple[int, dict | None]:
        return self.request("GET", "/api/state")

    def rate(self, item: str, rating: int, viewport: tuple[int, int] = (1280, 800)) -> tuple[int, dict | None]:
        return self.request("POST", "/api/rate", {"item": item, "rating": rating, "viewport_w": viewport[0],
                                                  "viewport_h": viewport[1]})


def simulated_rating(seed: int, participant: int, item: study_lib.Item) -> int:
    """The toy rater model (see the module docstring): an ACR score 1..5."""
    bias = random.Random(f"{seed}:rater:{participant}").gauss(0.0, RATER_BIAS_SD)
    # Seeded by what the item shows, not by its random id: the same study settings give the same ratings.
    noise = random.Random(f"{seed}:{participant}:{item.image}:{item.method}").gauss(0.0, RATING_NOISE_SD)
    return int(min(5, max(1, round(TRUE_QUALITY.get(item.method, 3.0) + bias + noise))))


def run_participant(base_url: str, study: study_lib.Study, index: int, seed: int) -> int:
    """Participant `index` starts and rates every item in the order the server gives; returns ratings stored."""
    client = Client(base_url)
    state = client.start()
    viewport = VIEWPORTS[index % len(VIEWPORTS)]
    stored = 0
    while not state["done"]:
        item = study.items[state["item"]]
        status, answer = client.rate(item.id, simulated_rating(seed, index, item), viewport)
        if status != 200:
            raise RuntimeError(f"participant {index}: rating {item.id} answered {status}: {answer}")
        stored += 1
        state = answer
    return stored


def run_participants(base_url: str, study: study_lib.Study, participants: int, seed: int) -> int:
    """All participants at once, one thread each; returns the ratings stored (raises on any refused rating)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=participants) as pool:
        futures = [pool.submit(run_participant, base_url, study, i, seed) for i in range(participants)]
        return sum(f.result() for f in futures)


def simulate(study_dir: str | os.PathLike, db: str | os.PathLike, participants: int = 20, seed: int = 0) -> int:
    """Serves `study_dir` on a free loopback port with a new database `db` and runs the participants."""
    if pathlib.Path(db).exists():
        raise FileExistsError(f"{db} already exists: simulated ratings go to a new database only")
    study = study_lib.load(study_dir)
    store = store_lib.Store(db, study)
    try:
        with server_lib.running(study, store) as server:
            return run_participants(server.url, study, participants, seed)
    finally:
        store.close()
