"""The Flax SwinIR computes what the official PyTorch SwinIR computes.

References: ../shared/data/reference/swinir/ holds the official model's raw outputs for seeded weights in four
configs, two crops (48x48 needs no padding; 61x38 exercises reflect padding and H != W), and two paddings
(the model's own reflect padding, and main_test_swinir.py's flip padding). Tolerance 1e-4, never relaxed.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import pytest

from jaxsharp import teacher
from jaxsharp.port.swinir_torch import load_teacher

CONFIGS = ("tiny_classical_x2", "tiny_classical_x4", "swinirS_lightweight_x2", "swinirS_lightweight_x4")
CROPS = ("48x48", "61x38")
TOL = 1e-4


@pytest.fixture(scope="module")
def ref_dir(shared_data):
    return shared_data / "reference" / "swinir"


@functools.lru_cache(maxsize=None)
def _model(path: str, pad: str) -> teacher.Teacher:
    return load_teacher(path, pad=pad)


def nchw_to_nhwc(a: np.ndarray) -> np.ndarray:
    return a.transpose(0, 2, 3, 1)


@pytest.mark.parametrize("pad", ["reflect", "testpad"])
@pytest.mark.parametrize("crop", CROPS)
@pytest.mark.parametrize("name", CONFIGS)
def test_matches_official_outputs(ref_dir, name, crop, pad):
    model = _model(str(ref_dir / f"{name}_weights.npz"), pad)
    x = nchw_to_nhwc(np.load(ref_dir / f"{name}_in_{crop}.npy"))
    suffix = "out_testpad" if pad == "testpad" else "out"
    expected = nchw_to_nhwc(np.load(ref_dir / f"{name}_{suffix}_{crop}.npy"))
    with jax.default_matmul_precision("highest"):
        got = np.asarray(model(x))
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= TOL


def test_parameter_counts_match_official(ref_dir):
    import json

    meta = json.loads((ref_dir / "fixtures_meta.json").read_text())
    for name in CONFIGS:
        model = _model(str(ref_dir / f"{name}_weights.npz"), "reflect")
        n = sum(int(np.prod(p.shape)) for p in jax.tree.leaves(model.params))
        assert n == meta[name]["n_params"], name
        cfg = meta[name]["config"]
        for key in ("upscale", "window_size", "embed_dim", "upsampler", "resi_connection"):
            assert getattr(model.config, key) == cfg[key], (name, key)
        assert list(model.config.depths) == cfg["depths"] and list(model.config.num_heads) == cfg["num_heads"]
        assert model.config.mlp_ratio == cfg["mlp_ratio"]


def test_pure_apply_jits_and_vmaps(ref_dir):
    model = _model(str(ref_dir / "tiny_classical_x2_weights.npz"), "reflect")
    x = nchw_to_nhwc(np.load(ref_dir / "tiny_classical_x2_in_48x48.npy"))
    batch = np.concatenate([x, x[:, ::-1]], axis=0)
    direct = np.asarray(model(batch))
    per_image = jax.vmap(lambda im: model.apply(model.params, im[None])[0])(batch)
    np.testing.assert_allclose(np.asarray(per_image), direct, atol=1e-5)


def test_rejects_bad_input_shape(ref_dir):
    model = _model(str(ref_dir / "tiny_classical_x2_weights.npz"), "reflect")
    with pytest.raises(ValueError, match=r"\[N, H, W, 3\]"):
        model(np.zeros((48, 48, 3), np.float32))


@pytest.mark.parametrize("pth, name", [
    ("tiny_classical_x2_official_params_ema_legacy.pth", "tiny_classical_x2"),
    ("swinirS_lightweight_x2_official_params.pth", "swinirS_lightweight_x2"),
])
def test_official_format_pth_reproduces_official_outputs(ref_dir, pth, name):
    model = _model(str(ref_dir / pth), "reflect")
    x = nchw_to_nhwc(np.load(ref_dir / f"{name}_in_61x38.npy"))
    expected = nchw_to_nhwc(np.load(ref_dir / f"{name}_out_61x38.npy"))
    with jax.default_matmul_precision("highest"):
        assert np.abs(np.asarray(model(x)) - expected).max() <= TOL
