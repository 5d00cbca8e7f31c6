"""The bench's fast unsharp baselines and its frontier figure (explored students, published anchors).

The fast unsharp mask is checked against the NumPy reference and closed-form cases; the figure is drawn from a fake
frontier file of tiny random-weight students, with the timing mocked (no figure here is a measurement).
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from PIL import Image

from jaxsharp import baselines, bench, student


@pytest.fixture
def nothing_shipped(ship_from, tmp_path):
    empty = tmp_path / "no_students"
    empty.mkdir()
    ship_from("student", empty)


# ----------------------------------------------------------------------------------------------------------------
# Unsharp mask, the fast ways


def test_jitted_unsharp_equals_the_numpy_one_within_the_stated_tolerance():
    rng = np.random.default_rng(0)
    image = rng.random((37, 50, 3), dtype=np.float32)  # odd sizes: the symmetric padding at every border
    want = baselines.unsharp_mask(image)
    got = np.asarray(jax.jit(baselines.unsharp_mask_jax)(image))
    assert got.shape == want.shape and got.dtype == np.float32
    # Where the float64 detail sits within the tolerance of the threshold the two may fall on different sides.
    kernel = baselines.gaussian_taps(baselines.UNSHARP_SIGMA)
    r, (h, w) = kernel.size // 2, image.shape[:2]
    padded = np.pad(image.astype(np.float64), ((r, r), (r, r), (0, 0)), mode="symmetric")
    blurred = sum(kernel[i] * kernel[j] * padded[i : i + h, j : j + w]  # the 2-D Gaussian, not separated
                  for i in range(kernel.size) for j in range(kernel.size))
    detail = np.abs(image - blurred)
    near = np.abs(detail - baselines.UNSHARP_THRESHOLD) <= baselines.UNSHARP_JAX_TOLERANCE
    np.testing.assert_allclose(got[~near], want[~near], atol=baselines.UNSHARP_JAX_TOLERANCE, rtol=0)
    assert np.all(np.abs(got - want) <= baselines.UNSHARP_AMOUNT * baselines.UNSHARP_THRESHOLD
                  + baselines.UNSHARP_JAX_TOLERANCE)
    # Batched (NHWC) is the same filter per frame; other parameters are honoured the same way.
    batch = np.stack([image, image[::-1]])
    got_batch = np.asarray(jax.jit(baselines.unsharp_mask_jax)(batch))
    np.testing.assert_array_equal(got_batch[0], got)
    np.testing.assert_allclose(got_batch[1], baselines.unsharp_mask(image[::-1]),
                               atol=baselines.UNSHARP_AMOUNT * baselines.UNSHARP_THRESHOLD + 1e-5, rtol=0)
    other = np.asarray(baselines.unsharp_mask_jax(image, sigma=2.0, amount=1.5, threshold=0.0))
    np.testing.assert_allclose(other, baselines.unsharp_mask(image, sigma=2.0, amount=1.5, threshold=0.0),
                               atol=baselines.UNSHARP_JAX_TOLERANCE, rtol=0)


def test_unsharp_closed_forms():
    # A constant image has no detail: unchanged, exactly, by all three implementations.
    flat = np.full((20, 24, 3), 0.4, np.float32)
    np.testing.assert_array_equal(np.asarray(baselines.unsharp_mask_jax(flat)), flat)
    np.testing.assert_array_equal(baselines.unsharp_mask(flat), flat)
    # Detail under the threshold (a half-grey-level checkerboard) is left alone.
    yy, xx = np.mgrid[:20, :24]
    faint = (0.5 + 0.5 / 255 * ((yy + xx) % 2))[..., None].repeat(3, -1).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(baselines.unsharp_mask_jax(faint)), faint)
    # bfloat16 in, bfloat16 out (Python-float taps do not promote).
    assert baselines.unsharp_mask_jax(jnp.asarray(flat, jnp.bfloat16)).dtype == jnp.bfloat16
    if bench.opencv_available():
        grey = np.full((20, 24, 3), 100, np.uint8)
        out = baselines.unsharp_mask_opencv(grey)
        assert out.dtype == np.uint8 and out.shape == grey.shape
        np.testing.assert_array_equal(out, grey)


def test_opencv_row_exists_when_cv2_imports(nothing_shipped):
    pytest.importorskip("cv2")
    names = [e.name for e in bench.build_entries((32, 48), batch=1, dtype=jnp.float32)]
    (row,) = [n for n in names if n.startswith("OpenCV unsharp")]
    assert "another filter" in row and "sigma 2" in row and "addWeighted 1.5 / -0.5" in row
    entry = next(e for e in bench.build_entries((32, 48), batch=1, dtype=jnp.float32) if e.name == row)
    assert entry.quality_methods == ()  # not evaluate's unsharp: never given its PSNR
    timed = entry.run(1)
    assert timed["fps"] > 0 and timed["gflops_per_frame"] is None


def test_opencv_row_is_skipped_with_a_note_without_cv2(nothing_shipped, monkeypatch):
    monkeypatch.setattr(bench, "opencv_available", lambda: False)
    names = [e.name for e in bench.build_entries((32, 48), batch=1, dtype=jnp.float32)]
    assert not [n for n in names if "OpenCV" in n]
    assert "unsharp mask (XLA, float32, jitted separable)" in names and "unsharp mask (numpy float64, host)" in names
    assert "jaxsharp[bench]" in bench.OPENCV_MISSING


# ----------------------------------------------------------------------------------------------------------------
# The frontier


def _tiny_export(directory, seed):
    config = student.StudentConfig(scale=2, mode="sharpen", channels=8, num_convs=3, space_to_depth=4)
    model = bench.random_weights(nnx.eval_shape(lambda: student.Student(config, rngs=nnx.Rngs(0))), seed=seed)
    student.save(directory, model, config)


def _frontier_file(root) -> str:
    """A frontier JSON in root/experiments/results whose exports are relative to root: a and b saved, c not."""
    for i, name in enumerate(("a", "b")):
        _tiny_export(root / "runs" / "frontier" / name / "export", seed=i)
    points = [{"name": name, "export": f"runs/frontier/{name}/export", "gflops_1080p": g, "params": n,
               "val": {"psnr_y": v}, "report": {s: {"psnr_y": v + d, "ssim_y": 0.9} for s, d in
                                                 (("Set5", 4.0), ("Set14", -0.5), ("B100", -1.5))}}
              for name, g, n, v in (("a", 9.5, 2000, 33.0), ("b", 14.1, 3000, 33.3), ("c", 28.0, 6000, 33.6))]
    path = root / "experiments" / "results" / "frontier.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"config": "x", "points": points}))
    return str(path)


def test_read_frontier_finds_exports_from_the_files_repository(tmp_path, monkeypatch):
    path = _frontier_file(tmp_path / "repo")
    monkeypatch.chdir(tmp_path)  # not the repository: found from the file's folders
    points = bench.read_frontier(path)
    assert [p.name for p in points] == ["a", "b", "c"]
    assert points[0].export == tmp_path / "repo" / "runs" / "frontier" / "a" / "export"
    assert points[2].export is None and points[2].export_text == "runs/frontier/c/export"
    assert points[1].gflops_1080p == 14.1 and points[1].params == 3000
    assert points[0].psnr_y == {"Set5": 37.0, "Set14": 32.5, "B100": 31.5}
    (tmp_path / "bad.json").write_text(json.dumps({"points": [{"export": "x"}]}))
    with pytest.raises(bench.BenchError, match="bad.json: not a frontier JSON"):
        bench.read_frontier(tmp_path / "bad.json")
    (tmp_path / "twice.json").write_text(json.dumps({"points": [{"name": "a"}, {"name": "a"}]}))
    with pytest.raises(bench.BenchError, match=r"point names repeat \(a\)"):
        bench.read_frontier(tmp_path / "twice.json")


def test_frontier_points_are_timed_as_explored_students(nothing_shipped, tmp_path):
    frontier = bench.read_frontier(_frontier_file(tmp_path))
    entries = bench.build_entries((32, 48), batch=1, dtype=jnp.float32, frontier=frontier)
    explored = [e for e in entries if e.frontier is not None]
    assert [e.name for e in explored] == ["a (frontier: runs/frontier/a/export)",
                                          "b (frontier: runs/frontier/b/export)"]
    assert all(e.role == "student" and e.plot_group == "explored" and e.quality_methods == () for e in explored)
    row = explored[0].run(1)
    assert row["fps"] > 0 and row["gflops_per_frame"] > 0


def _fake_rows(entries):
    return [bench.result_row(e.name, 0.01 * (i + 1), 0.0 if e.role != "baseline" else None,
                             1e9 * (i + 1) if e.role != "baseline" else None) for i, e in enumerate(entries)]


def test_plot_points_and_figure_from_a_fake_frontier(nothing_shipped, tmp_path):
    frontier = bench.read_frontier(_frontier_file(tmp_path))
    hw = (540, 960)
    entries = bench.build_entries(hw, batch=1, dtype=jnp.float32, frontier=frontier)
    results = _fake_rows(entries)
    by_name = {e.name: e for e in entries}
    small = "student_small_x2 (random weights)"
    unsharp_xla, unsharp_np = "unsharp mask (XLA, float32, jitted separable)", "unsharp mask (numpy float64, host)"
    speed = bench.speed_points(entries, results, {small: 31.9, unsharp_xla: 29.5, unsharp_np: 29.5}, "B100")
    assert {(p.label, p.group) for p in speed} == {("student_small_x2", "random"), ("a", "explored"),
                                                   ("b", "explored"), ("unsharp (XLA)", "baseline"),
                                                   ("unsharp (NumPy)", "baseline")}
    assert next(p for p in speed if p.label == "a").y == 31.5  # the frontier file's B100, no evaluate JSON
    cost = bench.cost_points(entries, results, {small: 32.9}, frontier, hw)
    labels = [p.label for p in cost]
    assert labels == ["student_small_x2", "a", "b", "c"] + [a.name for a in bench.PUBLISHED]
    small_row = results[[e.name for e in entries].index(small)]
    assert cost[0].x == pytest.approx(small_row["gflops_per_frame"] * 4)  # 960x540 -> 1920x1080
    assert cost[3].x == 28.0 and cost[3].y == 33.1  # c: not timed, drawn from the file alone
    assert {p.group for p in cost if p.label.endswith("(AIMET)")} == {"retrained"}
    m5 = next(p for p in cost if p.label == "SESR-M5")
    assert (m5.x, m5.y, m5.group) == (14.0, 32.84, "published")
    assert by_name[small].plot_group == "random"

    fig = bench.figure(speed, cost, speed_title="speed", cost_title="cost")
    assert len(fig.axes) == 2
    ax_speed, ax_cost = fig.axes
    assert ax_speed.get_xscale() == ax_cost.get_xscale() == "log"
    assert "frames per second" in ax_speed.get_xlabel() and "GFLOPs per 1920x1080" in ax_cost.get_xlabel()
    assert sorted(t.get_text() for t in ax_cost.texts) == sorted(labels)  # each point labelled once
    assert sorted(t.get_text() for t in ax_speed.texts) == sorted(p.label for p in speed)
    legend = {t.get_text() for t in ax_cost.get_legend().get_texts()}
    assert {"explored student", "published (paper's PSNR)", "published model re-trained (AIMET)"} <= legend
    assert "explored student" in {t.get_text() for t in ax_speed.get_legend().get_texts()}

    out = tmp_path / "frontier.png"
    bench.plot(speed, cost, out, speed_title="speed", cost_title="cost")
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size[0] > img.size[1] > 100


def test_cli_plots_the_frontier_without_an_evaluate_json(nothing_shipped, tmp_path, monkeypatch, capsys):
    # Timing mocked: this checks the wiring (entries, notes, the figure), not speed.
    monkeypatch.setattr(bench, "measure_xla", lambda name, fn, args, **kw: bench.result_row(name, 0.02, 0.1, 2e9))
    monkeypatch.setattr(bench, "measure_host", lambda name, fn, frames, **kw: bench.result_row(name, 0.05, None, None))
    out, png = tmp_path / "bench.json", tmp_path / "frontier.png"
    assert bench.main(["--json", str(out), "--size", "48x32", "--repeats", "1", "--plot", str(png),
                       "--frontier", _frontier_file(tmp_path)]) == 0
    names = [r["name"] for r in json.loads(out.read_text())["results"]]
    assert "a (frontier: runs/frontier/a/export)" in names and not any(n.startswith("c ") for n in names)
    stdout = capsys.readouterr().out
    assert "not timed (GFLOPs panel only): c" in stdout
    assert "plotted 2 entries against FPS and 10 against GFLOPs" in stdout  # a, b (B100); a, b, c + 7 anchors
    assert png.is_file()
