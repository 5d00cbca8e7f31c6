"""The mean-opinion-score study: t intervals, prepare, the server's rules under load and abuse, the report.

A tiny study (two categories x two synthetic images, 32-pixel crops, bicubic / unsharp / hr) is built once in a
temporary directory; every server test gets a new database. The browser test is tests/test_mos_browser.py.
"""

from __future__ import annotations

import json
import math
import sqlite3

import numpy as np
import pytest

from jaxsharp.mos import report, server, simulate, stats, store, study
from jaxsharp.mos.cli import main as mos_main

METHODS = ["bicubic", "unsharp", "hr"]


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    # Smooth colour gradients, a few hard edges and fine noise: detail for the crop finder and the methods.
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    image = np.stack([0.5 + 0.4 * np.sin(6 * xx + c) * np.cos(5 * yy - c) for c in range(3)], axis=-1)
    for _ in range(4):
        top, left = rng.integers(0, h - 8), rng.integers(0, w - 8)
        image[top : top + rng.integers(4, h // 2), left : left + rng.integers(4, w // 2)] = rng.random(3)
    return np.clip(image + 0.05 * rng.standard_normal((h, w, 3)), 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    from jaxsharp.image_io import write_image

    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for category in ("animals", "text"):
        for k in range(2):
            write_image(root / "categories" / category / f"img{k}.png", _texture(rng, 72 + 8 * k, 90))
    return root


@pytest.fixture(scope="module")
def study_dir(data_root, tmp_path_factory):
    from jaxsharp.mos.prepare import prepare_study

    out = tmp_path_factory.mktemp("study") / "study"
    prepare_study(out, ["categories"], METHODS, crop=32, margin=16, data_root=data_root, progress=False)
    return out


@pytest.fixture
def served(study_dir, tmp_path):
    """(study, db path, base url) of a running server with a new database."""
    loaded = study.load(study_dir)
    db = tmp_path / "mos.sqlite"
    ratings_store = store.Store(db, loaded)
    with server.running(loaded, ratings_store) as srv:
        yield loaded, db, srv.url
    ratings_store.close()


def _dump(db) -> dict:
    conn = sqlite3.connect(db)
    try:
        return {table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall())
                for table in ("meta", "items", "participants", "ratings")}
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------------------------
# Student-t intervals


def test_t_quantile_matches_printed_tables_and_closed_forms():
    for df, table in [(1, 12.706), (2, 4.303), (4, 2.776), (10, 2.228), (19, 2.093), (100, 1.984)]:
        assert stats.t_quantile(0.975, df) == pytest.approx(table, abs=5e-4)
    assert stats.t_quantile(0.995, 3) == pytest.approx(5.841, abs=5e-4)
    for p in (0.6, 0.9, 0.975, 0.999):  # df 1: Cauchy; df 2: (2p - 1) / sqrt(2p(1 - p))
        assert stats.t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-10)
        assert stats.t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-10)
        assert stats.t_quantile(1 - p, 7) == pytest.approx(-stats.t_quantile(p, 7), rel=1e-12)
        assert stats.t_cdf(stats.t_quantile(p, 7), 7) == pytest.approx(p, abs=1e-12)
    assert stats.t_quantile(0.975, math.inf) == pytest.approx(1.959964, abs=1e-6)
    assert stats.t_quantile(0.975, 1e6) == pytest.approx(1.959966, abs=1e-5)
    with pytest.raises(ValueError):
        stats.t_quantile(1.0, 3)


def test_mean_ci_closed_form():
    ci = stats.mean_ci([3, 4, 5])
    assert (ci.n, ci.mean, ci.std) == (3, 4.0, 1.0)
    assert ci.half_width == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    assert (ci.low, ci.high) == pytest.approx((4 - ci.half_width, 4 + ci.half_width))
    one = stats.mean_ci([2])
    assert one.mean == 2 and math.isnan(one.half_width)


# ---------------------------------------------------------------------------------------------------------------
# prepare


def test_prepare_same_crop_for_every_method_lossless(study_dir, data_root):
    from jaxsharp.degrade import bicubic_pair
    from jaxsharp.baselines import unsharp_mask
    from jaxsharp.image_io import read_image, read_image_rgb, to_uint8

    loaded = study.load(study_dir)
    manifest = loaded.manifest
    assert len(manifest["images"]) == 4 and len(loaded.items) == 4 * len(METHODS)
    assert manifest["degradation"] == "bicubic"
    assert sorted({i.category for i in loaded.items.values()}) == ["animals", "text"]
    for entry in manifest["images"]:
        hr = read_image_rgb(entry["source"])
        blurry, target = bicubic_pair(hr, 2, "sharpen", quantize=True)
        top, left, side = entry["box"]
        assert side == 32 and top % 2 == 0 and left % 2 == 0
        box = (slice(top, top + side), slice(left, left + side))
        # unsharp on the whole image, cropped: the study's windowed crop must be the same pixels.
        expected = {"hr": target[box], "bicubic": blurry[box], "unsharp": unsharp_mask(blurry)[box]}
        items = [i for i in loaded.items.values() if i.image == entry["image"]]
        assert sorted(i.method for i in items) == sorted(METHODS)
        for item in items:
            decoded = read_image(item.path)
            assert decoded.format == "PNG" and decoded.bits == 8
            np.testing.assert_array_equal(to_uint8(decoded.rgb), to_uint8(expected[item.method]), item.method)
    for item in loaded.items.values():  # opaque: nothing served names the method
        assert study.ITEM_ID.fullmatch(item.id) and item.path.name == f"{item.id}.png"
        assert not any(m in item.id for m in METHODS)


def test_student_crop_equals_the_whole_image_output(data_root):
    from jaxsharp.degrade import bicubic_pair
    from jaxsharp.evaluate import make_method
    from jaxsharp.image_io import read_image_rgb
    from jaxsharp.mos.prepare import crop_box, method_crop

    method = make_method("student", scale=2, mode="sharpen", weights="student-small-x2")
    blurry, target = bicubic_pair(read_image_rgb(data_root / "categories/text/img1.png"), 2, "sharpen",
                                  quantize=True)
    box = crop_box(target, 24, 2)
    for box in (box, (24, 30, 24)):  # the detail crop, and one away from every border
        crop = method_crop(method, "img1", blurry, target, box, margin=20, scale=2, mode="sharpen")
        whole = method("img1", blurry)[box[0] : box[0] + 24, box[1] : box[1] + 24]
        np.testing.assert_allclose(crop, np.clip(whole, 0, 1), atol=1e-5)


def test_prepare_refusals(study_dir, data_root, tmp_path, capsys):
    out = str(tmp_path / "s")
    common = ["prepare", "--out", out, "--sets", "categories", "--data-root", str(data_root), "--no-progress"]
    for extra, message in [(["--methods", "bicubic,teacher,hr"], "teacher needs --teacher-weights"),
                           (["--methods", "bicubic,magic"], "unknown method 'magic'"),
                           (["--methods", "bicubic,hr", "--sets", "Set99"], "set folder not found"),
                           (["--methods", "bicubic,hr", "--degradation", "nosuch"],
                            "unknown degradation 'nosuch'; registered: bicubic")]:
        with pytest.raises(SystemExit) as exit_info:
            mos_main(common + extra)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()
    with pytest.raises(SystemExit):
        mos_main(["prepare", "--out", str(study_dir), "--methods", "bicubic,hr", "--data-root", str(data_root)])
    assert "already exists" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------
# server and store


def test_only_registered_images_and_the_page_are_served(served):
    loaded, _, url = served
    client = simulate.Client(url)
    conn_paths = {"/": "text/html", "/mos.js": "text/javascript", "/mos.css": "text/css"}
    import http.client

    def get(path):
        conn = http.client.HTTPConnection(client.host, client.port, timeout=10)
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return response, body

    for path, ctype in conn_paths.items():
        response, body = get(path)
        assert response.status == 200 and response.headers["Content-Type"].startswith(ctype)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert not any(m.encode() in body for m in ("bicubic", "unsharp", "student", "teacher"))
    item = next(iter(loaded.items.values()))
    response, body = get(f"/img/{item.id}.png")
    assert response.status == 200 and response.headers["Content-Type"] == "image/png"
    assert body == item.path.read_bytes()
    for path in ["/img/0123456789abcdef.png", f"/img/{item.id.upper()}.png", f"/img/{item.id}",
                 "/img/../study.json", "/img/%2e%2e/study.json", "/study.json", f"/images/{item.id}.png",
                 f"/img/{item.id}.png/../../study.json", "//etc/passwd", "/../../etc/passwd", "/api/../study.json",
                 "/mos.js/..", "/index.html"]:
        response, body = get(path)
        assert response.status == 404, path
        assert b"study_id" not in body


def test_participant_flow_resumes_after_reload(served):
    loaded, db, url = served
    assert simulate.Client(url).state() == (200, {"started": False, "total": len(loaded.items)})
    first = simulate.Client(url)
    status, state = first.request("POST", "/api/start", {})
    assert status == 200 and state["started"] and state["rated"] == 0 and not state["done"]
    seen = [state["item"]]
    for rating in (3, 5, 1):
        status, state = first.rate(state["item"], rating, (1366, 768))
        assert status == 200
        seen.append(state["item"])
    # A reload is the same cookie asking again: same place, same item; /api/start does not start over.
    again = simulate.Client(url, cookie=first.cookie)
    assert again.state() == (200, state)
    assert again.start() == state and again.cookie == first.cookie
    assert state["rated"] == 3 and state["item"] == seen[3]
    while not state["done"]:
        status, state = again.rate(state["item"], 4)
        assert status == 200
    assert state == {"started": True, "done": True, "rated": len(loaded.items), "total": len(loaded.items),
                     "item": None, "image": None}
    rows = _dump(db)
    assert len(rows["participants"]) == 1
    pid, _, _, order_json, _ = rows["participants"][0]
    order = json.loads(order_json)
    assert pid == first.cookie and sorted(order) == sorted(loaded.items) and order[:4] == seen
    ratings = {r[1]: r for r in rows["ratings"]}
    assert len(ratings) == len(loaded.items)
    for position, item_id in enumerate(order):
        participant, _, image, category, method, rating, rated_at, pos, vw, vh = ratings[item_id]
        item = loaded.items[item_id]
        assert (participant, image, category, method, pos) == (pid, item.image, item.category, item.method, position)
        assert rating == [3, 5, 1][position] if position < 3 else rating == 4
        assert (vw, vh) == ((1366, 768) if position < 3 else (1280, 800))
        assert rated_at.endswith("Z")
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_cookie_and_order_per_participant(served):
    import http.client

    loaded, db, url = served
    client = simulate.Client(url)
    conn = http.client.HTTPConnection(client.host, client.port, timeout=10)
    conn.request("POST", "/api/start", body=b"{}", headers={"Content-Type": "application/json"})
    cookie = conn.getresponse().headers["Set-Cookie"]
    conn.close()
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    for _ in range(3):
        simulate.Client(url).start()
    orders = [json.loads(r[0]) for r in sqlite3.connect(db).execute("SELECT item_order FROM participants")]
    assert len({tuple(o) for o in orders}) == 4  # 12! orders: four equal ones would be a broken shuffle
    for order in orders:
        images = [loaded.items[i].image for i in order]
        assert all(a != b for a, b in zip(images, images[1:]))  # never one picture twice in a row


def test_malformed_posts_are_refused_and_change_nothing(served):
    loaded, db, url = served
    alice, bob = simulate.Client(url), simulate.Client(url)
    state, bob_state = alice.start(), bob.start()
    status, state = alice.rate(state["item"], 2)
    assert status == 200
    rated = next(r[1] for r in _dump(db)["ratings"])
    before = _dump(db)
    current = state["item"]
    other = next(i for i in loaded.items if i not in (current, rated))
    good = {"item": current, "rating": 3, "viewport_w": 1280, "viewport_h": 800}
    cases = [
        ({**good, "rating": 0}, 400), ({**good, "rating": 6}, 400), ({**good, "rating": "3"}, 400),
        ({**good, "rating": 3.0}, 400), ({**good, "rating": True}, 400), ({**good, "rating": None}, 400),
        ({**good, "item": "0123456789abcdef"}, 404), ({**good, "item": "../study.json"}, 400),
        ({**good, "item": 5}, 400), ({**good, "viewport_w": 0}, 400), ({**good, "viewport_h": 10**9}, 400),
        ({**good, "viewport_w": "wide"}, 400), ({**good, "participant": bob.cookie}, 400),
        ({k: v for k, v in good.items() if k != "rating"}, 400), ([good], 400), ("3", 400),
        ({**good, "item": rated}, 409),            # already rated: the first rating stands
        ({**good, "item": other}, 409),            # not the current item: the order is the drawn one
        ({**good, "item": bob_state["item"]}, 409 if bob_state["item"] != current else 200),
    ]
    if bob_state["item"] == current:
        cases.pop()
    for body, expected in cases:
        assert alice.request("POST", "/api/rate", body)[0] == expected, body
    for raw, headers, expected in [
        (b"{not json", {}, 400), (b"\xff\xfe", {}, 400), (json.dumps(good).encode(), {"Content-Type": "text/plain"}, 415),
        (b"x" * (server.MAX_BODY + 1), {}, 413),
        (json.dumps(good).encode(), {"Origin": "http://evil.example"}, 403),
    ]:
        assert alice.request("POST", "/api/rate", raw=raw, headers=headers)[0] == expected, raw[:20]
    forged = simulate.Client(url, cookie="A" * 32)  # well-formed but never issued
    assert forged.rate(current, 3)[0] == 403
    assert simulate.Client(url).rate(current, 3)[0] == 403  # no cookie
    assert simulate.Client(url, cookie="../../x").rate(current, 3)[0] == 403
    assert alice.request("POST", "/api/start", {"participant": bob.cookie})[0] == 400
    assert alice.request("POST", "/api/nothing", {})[0] == 404
    assert _dump(db) == before
    # Bob's rating is his own row; Alice's rows are untouched by it.
    assert bob.rate(bob_state["item"], 5)[0] == 200
    after = _dump(db)["ratings"]
    assert [r for r in after if r[0] == alice.cookie] == [r for r in before["ratings"] if r[0] == alice.cookie]
    assert [(r[1], r[5]) for r in after if r[0] == bob.cookie] == [(bob_state["item"], 5)]


def test_presentation_order_is_a_permutation_without_repeats():
    def items(counts):
        return [study.Item(f"{image}{k:015x}", image, "c", f"m{k}", None)
                for image, n in counts.items() for k in range(n)]

    # The number of distinct orders 200 seeds reach: all 3! * 2! = 12 of a b a b a; most of the others.
    for counts, distinct in [({"a": 3, "b": 3, "c": 3, "d": 3}, 190), ({"a": 3, "b": 2}, 12),
                             ({"a": 5, "b": 1, "c": 1, "d": 1, "e": 1}, 190)]:
        ids = sorted(i.id for i in items(counts))
        orders = set()
        for seed in range(200):
            order = study.presentation_order(items(counts), seed)
            assert sorted(order) == ids
            assert all(a[0] != b[0] for a, b in zip(order, order[1:])), (counts, seed)
            orders.add(tuple(order))
        assert len(orders) >= distinct
    # Impossible without repeats (one image holds most items): still every item once.
    order = study.presentation_order(items({"a": 4, "b": 1}), 0)
    assert sorted(order) == sorted(i.id for i in items({"a": 4, "b": 1}))


def test_twenty_concurrent_participants_lose_nothing(served):
    loaded, db, url = served
    stored = simulate.run_participants(url, loaded, participants=20, seed=7)
    n = len(loaded.items)
    assert stored == 20 * n
    rows = sqlite3.connect(db).execute("SELECT participant_id, item_id, rating, position FROM ratings").fetchall()
    assert len(rows) == 20 * n and len({(p, i) for p, i, _, _ in rows}) == 20 * n
    per_participant = {}
    for pid, item_id, _, position in rows:
        per_participant.setdefault(pid, []).append((position, item_id))
    assert len(per_participant) == 20 and all(sorted(p for p, _ in v) == list(range(n))
                                              for v in per_participant.values())
    # Which rating each simulated participant gave depends only on (seed, participant, item): compare the lot.
    expected = sorted(simulate.simulated_rating(7, k, item) for k in range(20) for item in loaded.items.values())
    assert sorted(r for _, _, r, _ in rows) == expected


def test_store_belongs_to_one_study(study_dir, tmp_path):
    loaded = study.load(study_dir)
    db = tmp_path / "mos.sqlite"
    store.Store(db, loaded).close()
    other = study.Study(loaded.directory, "0" * 16, loaded.manifest, loaded.items)
    with pytest.raises(store.StoreError, match="holds the ratings of study"):
        store.Store(db, other)


# ---------------------------------------------------------------------------------------------------------------
# report


def _rating(pid, image, method, rating, category="cat"):
    return {"participant_id": pid, "item_id": f"{image}-{method}", "image": image, "category": category,
            "method": method, "rating": rating}


def test_report_closed_form():
    ratings = [_rating("p1", "a", "bicubic", 3), _rating("p2", "a", "bicubic", 4), _rating("p3", "a", "bicubic", 5),
               _rating("p1", "a", "hr", 5), _rating("p2", "a", "hr", 5), _rating("p3", "b", "hr", 4, "other")]
    summary = report.summarize(ratings)
    assert (summary["n_ratings"], summary["n_raters"]) == (6, 3)
    bicubic, hr = summary["methods"]  # listed in METHOD_ORDER, the reference last
    assert (bicubic["method"], bicubic["mos"], bicubic["std"], bicubic["n_raters"]) == ("bicubic", 4.0, 1.0, 3)
    assert bicubic["ci95"] == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    assert hr["mos"] == pytest.approx(14 / 3) and hr["n_ratings"] == 3
    assert [(r["category"], r["method"], r["n_ratings"]) for r in summary["categories"]] == [
        ("cat", "bicubic", 3), ("cat", "hr", 2), ("other", "hr", 1)]
    assert summary["categories"][2]["ci95"] is None  # one rating: no interval
    # ACR-HR: p1 3 - 5 + 5 = 3, p2 4 - 5 + 5 = 4; p3 rated no hr of image a.
    (dmos,) = summary["dmos"]
    assert (dmos["method"], dmos["dmos"], dmos["n_ratings"], dmos["n_raters"]) == ("bicubic", 3.5, 2, 2)
    assert dmos["ci95"] == pytest.approx(12.706205 * math.sqrt(0.5) / math.sqrt(2), rel=1e-6)
    table = report.markdown(summary)
    assert "| bicubic | 4.00 | ±2.48 (1.52–6.48) | 3 | 3 |" in table
    assert "| other | hr | 4.00 | n/a | 1 | 1 |" in table


def test_simulate_and_report_commands(study_dir, tmp_path, capsys):
    db, out_json, out_png = tmp_path / "sim.sqlite", tmp_path / "mos.json", tmp_path / "mos.png"
    assert mos_main(["simulate", "--study", str(study_dir), "--db", str(db), "--participants", "3"]) == 0
    with pytest.raises(SystemExit):  # never into an existing database
        mos_main(["simulate", "--study", str(study_dir), "--db", str(db)])
    capsys.readouterr()
    assert mos_main(["report", "--db", str(db), "--json", str(out_json), "--plot", str(out_png)]) == 0
    table = capsys.readouterr().out
    assert "3 raters, 36 ratings" in table and "| hr |" in table and "DMOS" in table
    summary = json.loads(out_json.read_text())
    assert [r["method"] for r in summary["methods"]] == METHODS and summary["n_raters"] == 3
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SystemExit):
        mos_main(["report", "--db", str(tmp_path / "missing.sqlite")])
    assert "no such database" in capsys.readouterr().err
