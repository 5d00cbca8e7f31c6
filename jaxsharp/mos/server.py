"""`python -m jaxsharp.mos serve`: the rating page and its JSON API on the standard library's HTTP server.

Why `http.server.ThreadingHTTPServer` rather than Starlette + uvicorn: the app is five fixed routes, a few
requests a minute per participant, on a lab machine; the standard library serves that with no dependency to
install, pin or audit, and the security rules below are short enough to read in one file. What a framework
would add (routing, async, middleware) is not needed at this size; what matters (exact routes, field
validation, body limit, cookie attributes) is written out here either way.

Routes (nothing else exists: every path is matched exactly and none is mapped onto the filesystem):
  GET  /                  the page (jaxsharp/assets/mos/index.html); /mos.js and /mos.css, its script and style
  GET  /img/<id>.png      a registered item's PNG: <id> must be one of the study's 16-hex-digit ids, else 404
  GET  /api/state         {"started", "done", "rated", "total", "item", "image"} for the cookie's participant
  POST /api/start         {}: registers a participant (random id in an HttpOnly, SameSite=Strict cookie) with a
                          presentation order drawn for them; a registered cookie just gets its state back
  POST /api/rate          {"item": id, "rating": 1..5, "viewport_w": 1..16384, "viewport_h": 1..16384}
Security: binds 127.0.0.1 unless told otherwise; the participant is only ever the cookie (ids from
secrets.token_urlsafe, 192 bits), never a request field; unknown fields, wrong types (3.0, "3", true) and values
out of range are 400; POSTs must be JSON (415), at most MAX_BODY bytes (413), and from this origin when the
browser says where they come from (403); a Content-Security-Policy allows only this origin's script, style and
images. Rating rules (current item only, first rating stands) live in jaxsharp.mos.store.
"""

from __future__ import annotations

import http.cookies
import http.server
import json
import pathlib
import re
import secrets
import signal
import sys
import threading
import traceback
from urllib.parse import urlsplit

from jaxsharp.mos import store as store_lib
from jaxsharp.mos import study as study_lib

PAGE_DIR = pathlib.Path(__file__).resolve().parents[1] / "assets" / "mos"
STATIC = {"/": ("index.html", "text/html; charset=utf-8"), "/mos.js": ("mos.js", "text/javascript; charset=utf-8"),
          "/mos.css": ("mos.css", "text/css; charset=utf-8")}
IMAGE_ROUTE = re.compile(r"/img/([0-9a-f]{16})\.png")
COOKIE = "mos_participant"
PARTICIPANT_ID = re.compile(r"[A-Za-z0-9_-]{32}")  # secrets.token_urlsafe(24)
COOKIE_MAX_AGE = 30 * 24 * 3600
MAX_BODY = 1024
VIEWPORT_MAX = 16384
RATE_FIELDS = {"item", "rating", "viewport_w", "viewport_h"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_RATE_STATUS = {store_lib.RateResult.OK: 200, store_lib.RateResult.UNKNOWN_PARTICIPANT: 403,
                store_lib.RateResult.UNKNOWN_ITEM: 404, store_lib.RateResult.ALREADY_RATED: 409,
                store_lib.RateResult.NOT_CURRENT: 409}


class RequestError(Exception):
    """A request to refuse: HTTP status and a one-line reason sent back as {"error": reason}."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def validate_rating(body) -> tuple[str, int, tuple[int, int]]:
    """Checks a /api/rate body; returns (item id, rating, (viewport_w, viewport_h)) or raises RequestError(400)."""
    if not isinstance(body, dict):
        raise RequestError(400, "the body must be a JSON object")
    unknown = sorted(set(body) - RATE_FIELDS)
    if unknown:
        raise RequestError(400, f"unknown field {unknown[0]!r} (the participant is the cookie, never a field)")
    missing = sorted(RATE_FIELDS - set(body))
    if missing:
        raise RequestError(400, f"missing field {missing[0]!r}")
    item = body["item"]
    if not isinstance(item, str) or not study_lib.ITEM_ID.fullmatch(item):
        raise RequestError(400, "item must be an item id")

    def integer(name: str, low: int, high: int) -> int:
        value = body[name]
        if type(value) is not int or not low <= value <= high:  # bool is an int subclass: refused too
            raise RequestError(400, f"{name} must be an integer from {low} to {high}")
        return value

    rating = integer("rating", 1, 5)
    viewport = (integer("viewport_w", 1, VIEWPORT_MAX), integer("viewport_h", 1, VIEWPORT_MAX))
    return item, rating, viewport


class MosServer(http.server.ThreadingHTTPServer):
    """The study's HTTP server: `study`, `store`, the page's files (read once) and a log switch."""

    daemon_threads = True
    # socketserver's listen() backlog defaults to 5: a class of participants starting at once on a loaded machine
    # overflows it and connections are reset (seen as ConnectionResetError on POST /api/start with 20 clients).
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], study: study_lib.Study, store: store_lib.Store, *,
                 quiet: bool = False):
        self.study = study
        self.store = store
        self.quiet = quiet
        self.static = {route: ((PAGE_DIR / name).read_bytes(), ctype) for route, (name, ctype) in STATIC.items()}
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: MosServer
    server_version = "jaxsharp-mos"
    timeout = 30  # a client that stops sending frees its thread

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        if not self.server.quiet:
            super().log_message(format, *args)

    # -- responses

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy", CSP)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if "Cache-Control" not in (headers or {}):
            self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: dict, headers: dict | None = None) -> None:
        self._send(status, json.dumps(data).encode(), "application/json", headers)

    def _state(self, progress: store_lib.Progress | None) -> dict:
        if progress is None:
            return {"started": False, "total": len(self.server.study.items)}
        item = progress.next_item
        return {"started": True, "done": item is None, "rated": progress.rated, "total": progress.total,
                "item": item, "image": None if item is None else f"/img/{item}.png"}

    # -- requests

    def _participant(self) -> str | None:
        """The cookie's participant id if it has the issued form (not checked against the database here)."""
        try:
            cookie = http.cookies.SimpleCookie(self.headers.get("Cookie", ""))
        except http.cookies.CookieError:
            return None
        morsel = cookie.get(COOKIE)
        return morsel.value if morsel is not None and PARTICIPANT_ID.fullmatch(morsel.value) else None

    def _read_json(self):
        origin = self.headers.get("Origin")
        if origin is not None and origin != f"http://{self.headers.get('Host', '')}":
            raise RequestError(403, "cross-origin request")
        if self.headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
            raise RequestError(415, "the body must be application/json")
        length = self.headers.get("Content-Length")
        if length is None:
            raise RequestError(411, "Content-Length required")
        if not length.isdigit():
            raise RequestError(400, "bad Content-Length")
        if int(length) > MAX_BODY:
            self.close_connection = True  # the body is not read
            raise RequestError(413, f"body larger than {MAX_BODY} bytes")
        try:
            return json.loads(self.rfile.read(int(length)).decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise RequestError(400, "the body is not valid JSON") from None

    def do_GET(self):  # noqa: N802 (http.server's name)
        self._handle(self._get)

    def do_POST(self):  # noqa: N802
        self._handle(self._post)

    def _handle(self, route) -> None:
        path = urlsplit(self.path).path
        try:
            route(path)
        except RequestError as e:
            self._json(e.status, {"error": str(e)})
        except Exception:  # a bug, a lost image, a broken database: say so, keep the traceback in the log
            self.log_error("error handling %s %s:\n%s", self.command, path, traceback.format_exc())
            self._json(500, {"error": "internal error (nothing was saved)"})

    def _get(self, path: str) -> None:
        if path in self.server.static:
            body, ctype = self.server.static[path]
            return self._send(200, body, ctype)
        if match := IMAGE_ROUTE.fullmatch(path):
            item = self.server.study.items.get(match[1])
            if item is not None:
                return self._send(200, item.path.read_bytes(), "image/png", {"Cache-Control": "private, max-age=3600"})
        elif path == "/api/state":
            pid = self._participant()
            return self._json(200, self._state(self.server.store.progress(pid) if pid else None))
        raise RequestError(404, "not found")

    def _post(self, path: str) -> None:
        if path == "/api/start":
            return self._start(self._read_json())
        if path == "/api/rate":
            return self._rate(self._read_json())
        raise RequestError(404, "not found")

    def _start(self, body) -> None:
        if body != {}:
            raise RequestError(400, "the body must be {}")
        store = self.server.store
        pid = self._participant()
        progress = store.progress(pid) if pid else None
        if progress is not None:
            return self._json(200, self._state(progress))
        seed = secrets.randbits(63)
        order = study_lib.presentation_order(list(self.server.study.items.values()), seed)
        pid = store.add_participant(order, seed, self.headers.get("User-Agent"))
        cookie = f"{COOKIE}={pid}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Strict"
        self._json(200, self._state(store.progress(pid)), {"Set-Cookie": cookie})

    def _rate(self, body) -> None:
        pid = self._participant()
        if pid is None:
            raise RequestError(403, "no participant cookie: start the study first")
        item, rating, viewport = validate_rating(body)
        if item not in self.server.study.items:
            raise RequestError(404, "unknown item")
        result, progress = self.server.store.rate(pid, item, rating, viewport)
        if result is not store_lib.RateResult.OK:
            raise RequestError(_RATE_STATUS[result], result.value)
        self._json(200, self._state(progress))


def make_server(study: study_lib.Study, store: store_lib.Store, host: str = "127.0.0.1", port: int = 8000, *,
                quiet: bool = False) -> MosServer:
    """A bound (not yet serving) server; port 0 picks a free port (see `.url`)."""
    return MosServer((host, port), study, store, quiet=quiet)


class running:  # noqa: N801 (used as a context manager, like open)
    """`with running(study, store) as server:` serves on a background thread, stopped and closed on exit."""

    def __init__(self, study: study_lib.Study, store: store_lib.Store, host: str = "127.0.0.1", port: int = 0,
                 *, quiet: bool = True):
        self.server = make_server(study, store, host, port, quiet=quiet)
        # A short poll so that leaving the block (shutdown) takes milliseconds, not the default half second.
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="mos-server", daemon=True)

    def __enter__(self) -> MosServer:
        self._thread.start()
        return self.server

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


def serve(study_dir: str, db: str, host: str = "127.0.0.1", port: int = 8000) -> int:
    """Serves the study until Ctrl-C; returns the exit status."""
    study = study_lib.load(study_dir)
    store = store_lib.Store(db, study)
    try:
        server = make_server(study, store, host, port)
    except OSError as e:
        store.close()
        print(f"error: cannot listen on {host}:{port}: {e}", file=sys.stderr)
        return 2
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {host}: anyone who can reach this machine can open the study",
              file=sys.stderr)
    print(f"serving {len(study.items)} items of {study.directory} at {server.url} (ratings -> {db}); Ctrl-C stops",
          flush=True)
    def stop(signum, frame):
        raise KeyboardInterrupt  # SIGTERM (a service manager, `kill`) stops as cleanly as Ctrl-C

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()
    return 0
