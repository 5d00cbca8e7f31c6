"""Export round trips: the serialized StableHLO and the ONNX graph (in onnxruntime) against the JAX student.

Tolerances are the issue's: 1e-5 for StableHLO (same XLA, same ops), 1e-4 for ONNX (another runtime's conv kernels).
Each round trip runs at two sizes and two batch sizes through one export, which shows the dims are dynamic.
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxsharp import export, student

STABLEHLO_ATOL = 1e-5
ONNX_ATOL = 1e-4


def _student_dir(tmp_path, mode="sharpen", size="tiny", scale=2) -> str:
    """A saved tiny student with every layer non-trivial (a fresh tail is zero: output == input)."""
    config = student.StudentConfig.from_size(size, scale=scale, mode=mode)
    model = student.build(config, rngs=nnx.Rngs(0))
    rng = np.random.default_rng(1)
    model.tail.kernel.set_value(jnp.asarray(rng.normal(0, 0.05, model.tail.kernel.get_value().shape), jnp.float32))
    model.tail.bias.set_value(jnp.asarray(rng.normal(0, 0.01, model.tail.bias.get_value().shape), jnp.float32))
    return str(student.save(tmp_path / f"{size}_{mode}_x{scale}", model, config))


def _inputs(mode, scale):
    rng = np.random.default_rng(0)
    # Two frame sizes (one not square) and two batch sizes through the same exported artifact.
    hws = [(8 * scale, 12 * scale), (5 * scale, 3 * scale)] if mode == "sharpen" else [(9, 13), (16, 6)]
    return [rng.random((n, *hw, 3), dtype=np.float32) for n, hw in zip((2, 1), hws)]


@pytest.mark.parametrize("mode, scale", [("sharpen", 2), ("sr", 2), ("sharpen", 3)])
def test_stablehlo_round_trip_two_sizes(tmp_path, mode, scale):
    loaded = student.load(_student_dir(tmp_path, mode=mode, scale=scale))
    out = tmp_path / "model.stablehlo"
    export.main(["--model", loaded.source, "--format", "stablehlo", "--out", str(out)])
    exported = jax.export.deserialize(bytearray(out.read_bytes()))
    assert "cpu" in exported.platforms and "cuda" in exported.platforms
    for x in _inputs(mode, scale):
        want = np.asarray(loaded.apply(loaded.params, jnp.asarray(x)))
        got = np.asarray(exported.call(x))
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=STABLEHLO_ATOL, rtol=0)
    sidecar = json.loads(export.sidecar_path(out).read_text())
    assert student.StudentConfig.from_dict(sidecar) == loaded.config
    assert sidecar["format"] == "stablehlo" and sidecar["input"]["dtype"] == "float32"


def test_stablehlo_rejects_sizes_off_the_scale_grid(tmp_path):
    loaded = student.load(_student_dir(tmp_path))
    blob, _ = export.export_stablehlo(loaded, platforms=("cpu",))
    exported = jax.export.deserialize(bytearray(blob))
    with pytest.raises(ValueError, match="Division had remainder"):
        exported.call(np.zeros((1, 7, 8, 3), np.float32))


@pytest.mark.parametrize("mode", ["sharpen", "sr"])
def test_onnx_round_trip_two_sizes_in_onnxruntime(tmp_path, mode):
    ort = pytest.importorskip("onnxruntime")
    loaded = student.load(_student_dir(tmp_path, mode=mode))
    out = tmp_path / "model.onnx"
    export.main(["--model", loaded.source, "--format", "onnx", "--out", str(out)])
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert all(isinstance(d, str) for d in session.get_inputs()[0].shape[:3])  # B, H, W dynamic
    for x in _inputs(mode, 2):
        want = np.asarray(loaded.apply(loaded.params, jnp.asarray(x)))
        (got,) = session.run(["output"], {"image": x})
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=ONNX_ATOL, rtol=0)
    sidecar = json.loads(export.sidecar_path(out).read_text())
    assert sidecar["format"] == "onnx" and sidecar["config"]["mode"] == mode and sidecar["input"]["name"] == "image"
    assert student.StudentConfig.from_dict(sidecar) == loaded.config


def test_missing_shipped_student_lists_what_is_available(ship_from, tmp_path, capsys):
    shipped = tmp_path / "students"
    _student_dir(shipped)  # a shipped 'student_tiny_x2', so the message has something to list
    (shipped / "tiny_sharpen_x2").rename(shipped / "student_tiny_x2")
    ship_from("student", shipped)
    with pytest.raises(SystemExit) as exit_info:
        export.main(["--model", "student-small", "--format", "stablehlo", "--out", str(tmp_path / "m")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "no shipped student-small at x2" in err and "student_tiny_x2" in err
    assert not (tmp_path / "m").exists()
    assert export.resolve_student("student-tiny").config.size == "tiny"  # a size name at the default scale 2
    with pytest.raises(export.ExportError, match="no shipped student-tiny at x3"):
        export.resolve_student("student-tiny", scale=3)
    with pytest.raises(export.ExportError, match="x2 model; --scale 3"):
        export.resolve_student(str(shipped / "student_tiny_x2"), scale=3)


def test_a_reparam_student_exports_as_its_collapsed_conv_stack(tmp_path):
    # Any student family: the re-parameterised one ships (and so exports) its collapsed plain conv stack.
    from jaxsharp import models, student_reparam
    from jaxsharp.checkpoint import flat_param_vars

    config = student_reparam.ReparamConfig.from_size("m3", scale=2, mode="sharpen", channels=8, expand=16)
    rng = np.random.default_rng(2)
    flat = {k: rng.normal(0, 0.05, v.get_value().shape).astype(np.float32)
            for k, v in flat_param_vars(student_reparam.collapse_student(
                student_reparam.build(config, rngs=nnx.Rngs(0)))).items()}
    loaded = models.load(student_reparam.save(tmp_path / "m3", flat, config))
    out = tmp_path / "m3.stablehlo"
    assert export.main(["--model", loaded.source, "--format", "stablehlo", "--out", str(out),
                        "--platforms", "cpu"]) == 0
    exported = jax.export.deserialize(bytearray(out.read_bytes()))
    for x in _inputs("sharpen", 2):
        np.testing.assert_allclose(np.asarray(exported.call(x)), np.asarray(loaded.apply(loaded.params, x)),
                                   atol=STABLEHLO_ATOL, rtol=0)
    assert json.loads(export.sidecar_path(out).read_text())["model"] == "jaxsharp-reparam-student"
