"""The onnxruntime backend (jaxsharp/onnxruntime_backend.py) against the XLA path, its options and errors, and static
int8 quantization (jaxsharp.quantize) on a tiny student.

Tolerances: 1e-4 between backends in float32 (test_export's ONNX round trip: another runtime's conv kernels), 1e-5
between tiles and the whole image within one backend (the same kernels on the same pixels). int8 is held to a PSNR
of its output against float32's (> 35 dB), not to a tolerance.
"""

from __future__ import annotations

import json
import shutil
import sys
import types

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("jax2onnx")

from jaxsharp import (evaluate, image_io, infer, metrics, models, onnxruntime_backend, quantize,  # noqa: E402
                      sharpen_cli)
from jaxsharp.engine import Sharpener  # noqa: E402
from jaxsharp.onnxruntime_backend import BackendError, Int8QualityWarning  # noqa: E402

ATOL = 1e-4
TILE_ATOL = 1e-5


def _frames(*sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.random((h, w, 3), dtype=np.float32) for h, w in sizes]


def _max_diff(a, b) -> float:
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def model(tiny_student):
    return models.load(tiny_student)


@pytest.mark.parametrize("mode", ["sharpen", "sr"])
def test_float32_equals_xla_at_odd_sizes(model, mode):
    # Odd and even sizes, one past a 64-pixel bucket; sr runs the bicubic mode adapter before the graph.
    frames = _frames((37, 53), (64, 64), (70, 129), (5, 3))
    ort = Sharpener(model, mode=mode, backend="onnxruntime", precision="float32", batch=2)
    assert (ort.backend, ort.precision) == ("onnxruntime", "float32")
    want = Sharpener(model, mode=mode)(frames)
    got = ort(frames)
    assert [y.shape for y in got] == [y.shape for y in want]
    assert _max_diff(got, want) <= ATOL
    assert ort.traces == 0  # nothing compiled by XLA for the model


def test_shipped_tiny_student_float32_equals_xla():
    shipped = models.load("student_tiny_x2")
    frames = _frames((48, 80), (33, 41), seed=1)
    got = Sharpener(shipped, backend="onnxruntime", precision="float32")(frames)
    assert _max_diff(got, Sharpener(shipped)(frames)) <= ATOL


def test_tiles_equal_the_whole_image_and_any_batch_runs_as_is(model):
    frames = _frames((150, 97), (150, 97), (140, 100), seed=2)
    whole = Sharpener(model, backend="onnxruntime", precision="float32", batch=3, auto_tile=False)
    tiled = Sharpener(model, backend="onnxruntime", precision="float32", batch=3, tile=64)
    assert tiled.tile_for(192, 128) == 64
    assert _max_diff(tiled(frames), whole(frames)) <= TILE_ATOL
    assert (3, 192, 128, 3) in whole.stats  # three frames in one call: no power-of-two padding for onnxruntime


def test_python_api_and_cli_take_the_backend(model, tiny_student, tmp_path):
    frames = _frames((40, 60), seed=3)
    got = infer.sharpen(frames, model=model, backend="onnxruntime", precision="float32")
    assert _max_diff(got, infer.sharpen(frames, model=model)) <= ATOL
    image_io.write_image(tmp_path / "in.png", frames[0])
    outputs = {}
    for backend in ("xla", "onnxruntime"):
        out = tmp_path / f"{backend}.png"
        assert sharpen_cli.main([str(tmp_path / "in.png"), "-o", str(out), "--model", str(tiny_student),
                                 "--backend", backend]) == 0
        outputs[backend] = image_io.read_image_rgb(out)
    # Written as uint8: a value within 1e-4 of a rounding boundary may land one level apart.
    assert np.abs(outputs["xla"] - outputs["onnxruntime"]).max() <= 1 / 255 + 1e-6


def test_the_exported_graph_is_cached_by_weight_content(model, monkeypatch, tmp_path):
    monkeypatch.setenv(onnxruntime_backend.CACHE_ENV, str(tmp_path / "cache"))
    first = onnxruntime_backend.Runner(model, precision="float32")
    assert first.origin == "export"
    assert onnxruntime_backend.Runner(models.load(model.source), precision="float32").origin == "cache"
    # A cached graph runs without jax2onnx (e.g. an install without the export extra).
    monkeypatch.setitem(sys.modules, "jax2onnx", None)
    again = Sharpener(model, backend="onnxruntime", precision="float32")
    assert again.report()[0].startswith("onnxruntime float32, CPUExecutionProvider: graph from cache")


def test_weights_digest_follows_the_values(model):
    import jax

    digest = onnxruntime_backend.weights_digest(model)
    assert digest == onnxruntime_backend.weights_digest(models.load(model.source))
    changed = models.load(model.source)
    changed.params = jax.tree.map(lambda a: a + 1e-3, changed.params)
    assert onnxruntime_backend.weights_digest(changed) != digest


def test_bad_options_are_refused_with_one_line(model):
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'; choose one of xla, onnxruntime"):
        Sharpener(model, backend="tensorrt")
    with pytest.raises(ValueError, match="precision 'int8' is for the onnxruntime backend"):
        Sharpener(model, precision="int8")
    with pytest.raises(ValueError, match="dtype bfloat16 runs on the xla backend only"):
        Sharpener(model, backend="onnxruntime", dtype="bfloat16")
    with pytest.raises(BackendError, match="unknown precision 'int4'"):
        Sharpener(model, backend="onnxruntime", precision="int4")
    with pytest.raises(BackendError, match="no int8 graph for .*python -m jaxsharp.quantize --model"):
        Sharpener(model, backend="onnxruntime", precision="int8")
    teacher = types.SimpleNamespace(role="teacher", family="swinir", source="swinir_s_x2")
    with pytest.raises(BackendError, match="runs students .* is a swinir teacher: use --backend xla"):
        onnxruntime_backend.Runner(teacher)


def test_missing_dependencies_name_the_install(model, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(BackendError, match=r"needs onnxruntime .*pip install -e '\.\[export\]'"):
        Sharpener(model, backend="onnxruntime")
    monkeypatch.delitem(sys.modules, "onnxruntime")
    monkeypatch.setitem(sys.modules, "jax2onnx", None)
    monkeypatch.setenv(onnxruntime_backend.CACHE_ENV, str(tmp_path / "empty_cache"))  # nothing cached: must export
    with pytest.raises(BackendError, match="exports the model first; ONNX export needs jax2onnx"):
        Sharpener(model, backend="onnxruntime")
    # The commands say it in one line and exit 2.
    image_io.write_image(tmp_path / "in.png", _frames((8, 8))[0])
    assert sharpen_cli.main([str(tmp_path / "in.png"), "--model", model.source, "--backend", "onnxruntime"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: the onnxruntime backend exports the model first")
    assert sharpen_cli.main([str(tmp_path / "in.png"), "--dtype", "bfloat16", "--backend", "onnxruntime"]) == 2
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main(["--method", "bicubic", "--backend", "onnxruntime", "--sets", "Set5"])
    assert exit_info.value.code == 2
    assert "--backend and --precision apply to the model methods" in capsys.readouterr().err


def test_quality_rule_needs_both_sets_measured_and_within_the_limit():
    def sidecar(**deltas):
        return {"quality": [{"set": s, "delta_db": d} for s, d in deltas.items()]}

    assert onnxruntime_backend.meets_quality_rule(sidecar(Set5=-0.049, B100=0.01))
    assert not onnxruntime_backend.meets_quality_rule(sidecar(Set5=-0.051, B100=0.01))
    assert not onnxruntime_backend.meets_quality_rule(sidecar(Set5=0.0, B100=0.06))
    assert not onnxruntime_backend.meets_quality_rule(sidecar(Set5=0.0))  # B100 not measured
    assert not onnxruntime_backend.meets_quality_rule(sidecar(Set5=0.0, B100=None))
    assert not onnxruntime_backend.meets_quality_rule({"meets_rule": True})  # the numbers decide, not a flag


def test_calibration_images_are_training_images_outside_the_measured_sets(shared_data):
    files = quantize.calibration_files(shared_data)
    assert len(files) == 8 and all(f.parent == shared_data / "train" / "T91" for f in files)
    calibration = [image_io.read_image_rgb(f) for f in files]
    for set_name in ("Set5", "Set14", "B100"):
        for hr_file in evaluate.list_images(shared_data / "benchmarks" / set_name / "HR"):
            hr = image_io.read_image_rgb(hr_file)
            assert not any(c.shape == hr.shape and np.array_equal(c, hr) for c in calibration), hr_file


def test_quantize_writes_an_int8_graph_that_runs_near_float32(tiny_student, tmp_path, shared_data):
    directory = shutil.copytree(tiny_student, tmp_path / "tiny")  # the int8 graph goes beside the model
    assert quantize.main(["--model", str(directory), "--sets", "Set5", "--no-progress"]) == 0
    sidecar = json.loads((directory / onnxruntime_backend.INT8_SIDECAR).read_text())
    assert sidecar["calibration"]["files"] == [f"train/{n}" for n in quantize.CALIBRATION_FILES]
    assert sidecar["settings"] | {"reduce_range": True} == sidecar["settings"]
    assert sidecar["settings"]["quant_format"] == "QDQ" and sidecar["settings"]["per_channel"]
    (row,) = sidecar["quality"]
    assert row["set"] == "Set5" and row["n_images"] == 5
    assert row["delta_db"] == pytest.approx(row["psnr_y_int8"] - row["psnr_y_float32"])
    assert sidecar["meets_rule"] is False  # B100 not measured: int8 is never the default then

    model = models.load(directory)
    assert Sharpener(model, backend="onnxruntime").precision == "float32"  # auto
    with pytest.warns(Int8QualityWarning, match="Set5 [+-]0.0"):
        int8 = Sharpener(model, backend="onnxruntime", precision="int8")
    assert int8.precision == "int8"
    hr = image_io.read_image_rgb(shared_data / "benchmarks" / "Set5" / "HR" / "baby.png")[:128, :160]
    float32_out = Sharpener(model, backend="onnxruntime", precision="float32")([hr])[0]
    assert metrics.psnr_rgb(int8([hr])[0], float32_out, crop_border=0) > 35.0

    # Measured within the rule on both sets: auto picks int8.
    sidecar["quality"] = [{"set": "Set5", "delta_db": -0.02}, {"set": "B100", "delta_db": -0.01}]
    (directory / onnxruntime_backend.INT8_SIDECAR).write_text(json.dumps(sidecar))
    assert Sharpener(model, backend="onnxruntime").precision == "int8"
    # Another model's weights in the same folder: the int8 graph is stale, refused when asked for, skipped by auto.
    (directory / "params.npz").unlink()
    shutil.copy(models.resolve("student_tiny_x2") / "params.npz", directory / "params.npz")
    shutil.copy(models.resolve("student_tiny_x2") / "config.json", directory / "config.json")
    other = models.load(directory)
    with pytest.raises(BackendError, match="made for other weights"):
        Sharpener(other, backend="onnxruntime", precision="int8")
    assert Sharpener(other, backend="onnxruntime").precision == "float32"
