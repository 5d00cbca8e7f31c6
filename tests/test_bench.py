"""Benchmark CLI: an end-to-end run at a tiny size writes the JSON schema exactly and the plot; entry set-up.

No timing is asserted anywhere: figures come from `python -m jaxsharp.bench` runs, not from tests.
"""

from __future__ import annotations

import json
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from PIL import Image

from jaxsharp import bench, student


@pytest.fixture
def nothing_shipped(ship_from, tmp_path):
    """No shipped student, whatever jaxsharp/assets holds today: every size is built with random weights."""
    empty = tmp_path / "no_students"
    empty.mkdir()
    ship_from("student", empty)


def _quality_file(path) -> str:
    rows = [("Set5", "bicubic", 33.69), ("Set5", "student", 37.3), ("Set5", "teacher", 38.1),
            ("Set5", "unsharp", 34.2), ("Set5", "student_tiny_x2", 36.4), ("Set5", "lanczos", 33.9),
            ("Set14", "student", 32.9), ("Set14", "teacher", 33.8)]
    path.write_text(json.dumps({"results": [{"set": s, "method": m, "scale": 2, "mode": "sharpen", "psnr_y": p}
                                            for s, m, p in rows]}))
    return str(path)


def test_end_to_end_tiny_frame_writes_schema_and_plot(nothing_shipped, tmp_path, capsys):
    out, png = tmp_path / "bench.json", tmp_path / "speed_quality.png"
    assert bench.main(["--json", str(out), "--size", "64x48", "--repeats", "2", "--plot", str(png),
                       "--quality", _quality_file(tmp_path / "eval.json")]) == 0
    data = json.loads(out.read_text())
    assert set(data) == {"device", "size", "results"}
    assert isinstance(data["device"], str) and data["device"]
    assert data["size"] == [48, 64]  # [h, w] from --size WxH
    names = [r["name"] for r in data["results"]]
    assert names[:3] == [f"student_{s}_x2 (random weights)" for s in student.SIZES]
    assert names[3].startswith("teacher SwinIR-S x2 (random weights; whole frame")  # 24x32 LR fits in one crop
    assert names[4:8] == ["bicubic x2 (jax.image.resize)", "bicubic x2 (Pillow, uint8)",
                          "unsharp mask (XLA, float32, jitted separable)", "unsharp mask (numpy float64, host)"]
    opencv = [n for n in names if n.startswith("OpenCV unsharp")]
    assert names[8:-1] == opencv and len(opencv) == bench.opencv_available()
    assert names[-1] == "reference conv 3x3 64->64 on 24x32"
    for row in data["results"]:
        assert tuple(row) == bench.RESULT_KEYS
        assert isinstance(row["name"], str)
        for key in ("ms_per_frame", "fps"):
            assert isinstance(row[key], float) and row[key] > 0
        host = row["name"] in ("bicubic x2 (Pillow, uint8)", "unsharp mask (numpy float64, host)") or \
            row["name"].startswith("OpenCV")
        for key in ("compile_s", "gflops_per_frame", "achieved_gflops_per_s"):
            assert row[key] is None if host else (isinstance(row[key], float) and row[key] > 0), (row["name"], key)
        assert row["fps"] == pytest.approx(1000.0 / row["ms_per_frame"])
        if not host:
            assert row["achieved_gflops_per_s"] == pytest.approx(row["gflops_per_frame"] / row["ms_per_frame"] * 1e3)
    stdout = capsys.readouterr().out
    assert "| entry | ms / frame | FPS |" in stdout
    assert "summary: student_small_x2 (random weights) is" in stdout and "faster per frame than the teacher" in stdout
    shares = stdout.split("as % of the reference conv")[1].splitlines()[0]
    assert re.search(r"student_tiny_x2 \d+%, student_small_x2 \d+%, student_base_x2 \d+%", shares), shares
    # FPS panel: tiny (by name), small (evaluate's 'student'), teacher, bicubic, unsharp (XLA and NumPy); GFLOPs
    # panel (Set14): small (the teacher is left off it) and the 7 published anchors.
    assert "plotted 6 entries against FPS and 8 against GFLOPs" in stdout
    with Image.open(png) as img:
        assert img.format == "PNG" and img.size[0] > 100


def test_flops_are_xla_cost_analysis_of_the_student_frame(nothing_shipped):
    # The student row's GFLOPs are the same count `student.info` reports (one compiled forward per frame).
    from jaxsharp.student import info

    entries = bench.build_entries((48, 64), batch=2, dtype=jnp.float32)
    row = entries[0].run(1)
    want = info.frame_cost(student.StudentConfig.from_size("tiny"), (48, 64))["flops"] / 1e9
    assert row["gflops_per_frame"] == pytest.approx(want, rel=1e-6)


def test_flops_counted_through_a_cpu_compile_match_the_backend_count():
    # Off the CPU the bench counts FLOPs from a CPU compile (the GPU count leaves out cuDNN convolutions); here both
    # paths run on the CPU, so they must agree with each other and with the closed form of a 3x3 "SAME" conv: XLA
    # counts the taps inside the image (3n - 2 per axis of n pixels), 2 FLOPs per tap and channel pair.
    x = jnp.ones((1, 10, 12, 4), jnp.float32)
    k = jnp.ones((3, 3, 4, 8), jnp.float32)

    def conv(x, k):
        return jax.lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))

    compiled = jax.jit(conv).lower(x, k).compile()
    direct = bench.counted_flops(conv, (x, k), compiled, on_cpu=False)
    via_cpu = bench.counted_flops(conv, (x, k), compiled, on_cpu=True)
    assert direct == via_cpu == 2 * (3 * 10 - 2) * (3 * 12 - 2) * 4 * 8


def test_extra_students_are_timed_under_their_run_name(nothing_shipped, tmp_path):
    config = student.StudentConfig(scale=2, mode="sharpen", channels=8, num_convs=3, space_to_depth=4)
    model = bench.random_weights(nnx.eval_shape(lambda: student.Student(config, rngs=nnx.Rngs(0))))
    student.save(tmp_path / "my_run" / "export", model, config)
    entries = bench.build_entries((32, 48), batch=1, dtype=jnp.float32,
                                  extra_students=(str(tmp_path / "my_run" / "export"),))
    extra = [e for e in entries if e.name.startswith("my_run (")]
    assert len(extra) == 1
    row = extra[0].run(1)
    assert row["ms_per_frame"] > 0 and row["gflops_per_frame"] > 0
    with pytest.raises(bench.BenchError, match="--student .*nowhere"):
        bench.build_entries((32, 48), batch=1, dtype=jnp.float32, extra_students=(str(tmp_path / "nowhere"),))
    with pytest.raises(bench.BenchError, match="block / scale 4"):
        bench.build_entries((30, 48), batch=1, dtype=jnp.float32,
                            extra_students=(str(tmp_path / "my_run" / "export"),))


def test_bfloat16_casts_params_and_inputs_and_computes_in_bfloat16(nothing_shipped, monkeypatch):
    seen = []

    def fake_measure(name, fn, args, *, frames, repeats, frame_factor=1.0):
        seen.append((name, fn, args))
        return bench.result_row(name, 1.0, 0.0, 1.0)

    monkeypatch.setattr(bench, "measure_xla", fake_measure)
    for entry in bench.build_entries((32, 48), batch=1, dtype=jnp.bfloat16):
        entry.run(1)
    assert len(seen) == 7  # three students, teacher, jax bicubic, XLA unsharp, reference conv
    for name, fn, args in seen:
        assert {leaf.dtype for leaf in jax.tree.leaves(args)} == {jnp.dtype(jnp.bfloat16)}, name
        assert jax.eval_shape(fn, *args).dtype == jnp.bfloat16, name  # nothing promotes back to float32


def test_shipped_students_are_benchmarked_and_other_sizes_built(ship_from, tmp_path):
    shipped = tmp_path / "students"
    config = student.StudentConfig.from_size("tiny")
    student.save(shipped / "student_tiny_x2", student.build(config, rngs=nnx.Rngs(0)), config)
    ship_from("student", shipped)
    entries = bench.build_entries((32, 48), batch=1, dtype=jnp.float32)
    students = [e for e in entries if e.role == "student"]
    assert [e.name for e in students] == ["student_tiny_x2", "student_small_x2 (random weights)",
                                          "student_base_x2 (random weights)"]
    assert "student" in students[1].quality_methods  # small stays the default student


def test_quality_matching_and_errors(nothing_shipped, tmp_path):
    entries = bench.build_entries((32, 48), batch=1, dtype=jnp.float32)
    quality = _quality_file(tmp_path / "eval.json")
    set_name, psnr = bench.read_quality(quality, entries, None)
    assert set_name == "Set5"
    assert psnr == {"student_tiny_x2 (random weights)": 36.4, "student_small_x2 (random weights)": 37.3,
                    "teacher SwinIR-S x2 (random weights; whole frame)": 38.1,
                    "bicubic x2 (jax.image.resize)": 33.69, "unsharp mask (XLA, float32, jitted separable)": 34.2,
                    "unsharp mask (numpy float64, host)": 34.2}
    assert bench.read_quality(quality, entries, "Set14")[1] == {
        "student_small_x2 (random weights)": 32.9, "teacher SwinIR-S x2 (random weights; whole frame)": 33.8}
    with pytest.raises(bench.BenchError, match="no set 'Urban100'; sets there: Set5, Set14"):
        bench.read_quality(quality, entries, "Urban100")
    (tmp_path / "other.json").write_text(json.dumps({"results": [{"set": "Set5", "method": "lanczos",
                                                                   "psnr_y": 33.9}]}))
    with pytest.raises(bench.BenchError, match="no benchmarked entry has a quality figure"):
        bench.read_quality(tmp_path / "other.json", entries, None)


@pytest.mark.parametrize("argv, message", [
    (["--size", "63x48"], "even width and height"),
    (["--size", "64"], "expected WxH"),
    (["--plot", "p.png"], "--plot needs --quality (an evaluate.py JSON) and/or --frontier"),
    (["--quality", "q.json"], "--quality needs --plot"),
    (["--plot", "p.png", "--frontier", "nowhere.json"], "nowhere.json: not a frontier JSON"),
    (["--repeats", "0"], "must be >= 1"),
    (["--dtype", "float16"], "invalid choice"),
])
def test_cli_rejects_bad_requests_before_running(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--json", str(tmp_path / "b.json"), *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "b.json").exists()


def test_random_weights_fill_every_parameter():
    model = bench.random_weights(nnx.eval_shape(lambda: student.build(student.StudentConfig.from_size("tiny"),
                                                                      rngs=nnx.Rngs(0))))
    leaves = jax.tree.leaves(nnx.state(model, nnx.Param))
    assert leaves and all(isinstance(v, jax.Array) and np.all(np.isfinite(v)) and np.any(v != 0) for v in leaves)


def test_the_default_row_is_the_model_sharpen_uses_by_default():
    # Two shipped students have size-like names of "small" (the plain one kept for comparison): the bench's
    # "student" row must be the one `jaxsharp sharpen` runs without --model, whatever its family.
    from jaxsharp import models

    entries = bench.build_entries((32, 48), batch=1, dtype=jnp.float32)
    default = [e.name for e in entries if "student" in e.quality_methods]
    assert default == [models.name_of(models.load(models.DEFAULT_STUDENT))]
