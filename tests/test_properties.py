"""Property tests (hypothesis): image file round trips, the laws of the MATLAB bicubic resize, the metrics' laws.

Deterministic (derandomize: the same examples every run, no example database) and small, so the file runs in
seconds; deadline None because the JAX cases compile per shape.

The resize range law, derived: one output pixel is sum_i w_i x_i with weights summing to 1 (each row of
`degrade.contributions` is normalised). If N is the sum of its negative weights' magnitudes, the positive ones sum
to 1 + N, so the pixel lies within [min - N R, max + N R] (R = max - min of the input). The 2-D weights are the
outer product of the two axes' (the resize is separable), whose negative part sums to N_h (1 + N_w) + (1 + N_h) N_w,
so c = N_h + N_w + 2 N_h N_w. For the Keys cubic (a = -0.5) N is 1/8 exactly when enlarging (the taps at distance
1 + t and 2 - t sum to -1/8 at t = 1/2), and at most 0.1344 when shrinking, where the kernel is stretched by
1/scale and renormalised over the taps (the worst case is near scale 0.93); `test_negative_lobe_bound` recomputes
both from the kernel's formula, independently of jaxsharp.degrade.
"""

from __future__ import annotations

import math
from fractions import Fraction

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaxsharp import degrade, evaluate, metrics
from jaxsharp.image_io import read_image, write_image

NEGATIVE_LOBE = 0.1344  # sup over scales and tap offsets of N (module docstring; checked below)
RANGE_C = 2 * NEGATIVE_LOBE + 2 * NEGATIVE_LOBE**2
SCALES = [Fraction(1, 4), Fraction(1, 3), Fraction(1, 2), Fraction(2, 3), Fraction(3, 4), Fraction(9, 10),
          Fraction(3, 2), Fraction(2), Fraction(3), Fraction(4)]


def fast(max_examples: int):
    return settings(max_examples=max_examples, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _keys(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel, a = -0.5, written out from its definition."""
    a = np.abs(x)
    return np.where(a <= 1, 1.5 * a**3 - 2.5 * a**2 + 1, np.where(a <= 2, -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2, 0.0))


def test_negative_lobe_bound():
    offsets = np.linspace(0.0, 1.0, 201)[:, None]
    worst_enlarge = 0.0
    worst_shrink = 0.0
    for scale in np.concatenate([np.linspace(0.05, 1.0, 951), [1.0]]):
        taps = np.arange(-int(2 / scale) - 2, int(2 / scale) + 3)[None, :]
        w = _keys(scale * (offsets - taps))
        n = (np.clip(-w, 0, None).sum(1) / w.sum(1)).max()
        worst_shrink = max(worst_shrink, n)
    w = _keys(offsets - np.arange(-2, 4)[None, :])
    worst_enlarge = (np.clip(-w, 0, None).sum(1) / w.sum(1)).max()
    assert worst_enlarge == pytest.approx(0.125, abs=1e-12)
    assert 0.13 < worst_shrink <= NEGATIVE_LOBE + 1e-4


# --- image files ---------------------------------------------------------------------------------------------------

shapes = st.tuples(st.integers(1, 12), st.integers(1, 12))


@fast(15)  # each example fsyncs a file (jaxsharp.atomic)
@given(shape=shapes, layout=st.sampled_from(["rgb", "grey", "rgba", "grey_alpha"]),
       suffix=st.sampled_from([".png", ".tif", ".bmp"]), seed=st.integers(0, 2**32 - 1))
def test_eight_bit_levels_round_trip_exactly(tmp_path_factory, shape, layout, suffix, seed):
    if suffix == ".bmp" and layout.endswith("a"):
        suffix = ".png"  # BMP keeps no alpha
    rng = np.random.default_rng(seed)
    grey = layout.startswith("grey")
    image = rng.integers(0, 256, shape + (() if grey else (3,))).astype(np.float32) / np.float32(255)
    alpha = rng.integers(0, 256, shape).astype(np.float32) / np.float32(255) if layout.endswith("a") else None
    path = write_image(tmp_path_factory.mktemp("rt") / f"x{suffix}", image, alpha=alpha)
    back = read_image(path)
    assert back.bits == 8 and back.grayscale == grey and back.rgb.shape == shape + (3,)
    np.testing.assert_array_equal(back.rgb, np.broadcast_to(image[..., None] if grey else image, shape + (3,)))
    if alpha is None:
        assert back.alpha is None
    else:
        np.testing.assert_array_equal(back.alpha, alpha)


@fast(12)
@given(shape=shapes, layout=st.sampled_from(["rgb", "grey", "rgba", "grey_alpha"]), seed=st.integers(0, 2**32 - 1))
def test_sixteen_bit_levels_round_trip_exactly(tmp_path_factory, shape, layout, seed):
    rng = np.random.default_rng(seed)
    grey = layout.startswith("grey")
    image = rng.integers(0, 65536, shape + (() if grey else (3,))).astype(np.float32) / np.float32(65535)
    alpha = rng.integers(0, 65536, shape).astype(np.float32) / np.float32(65535) if layout.endswith("a") else None
    back = read_image(write_image(tmp_path_factory.mktemp("rt16") / "x.png", image, bits=16, alpha=alpha))
    assert back.bits == 16 and back.grayscale == grey
    np.testing.assert_array_equal(back.rgb, np.broadcast_to(image[..., None] if grey else image, shape + (3,)))
    if alpha is not None:
        np.testing.assert_array_equal(back.alpha, alpha)


@fast(10)
@given(shape=shapes, bits=st.sampled_from([8, 16]), seed=st.integers(0, 2**32 - 1))
def test_any_float_image_comes_back_within_half_a_level(tmp_path_factory, shape, bits, seed):
    image = np.random.default_rng(seed).uniform(-0.2, 1.2, shape + (3,))  # out of range values are clipped
    back = read_image(write_image(tmp_path_factory.mktemp("rtf") / "x.png", image, bits=bits)).rgb
    step = 1.0 / (2**bits - 1)
    assert np.abs(back - np.clip(image, 0, 1)).max() <= step / 2 + 1e-6


# --- MATLAB bicubic resize -----------------------------------------------------------------------------------------

resize_cases = st.tuples(st.integers(1, 24), st.integers(1, 24), st.sampled_from(SCALES), st.integers(0, 2**32 - 1))


@fast(40)
@given(case=resize_cases)
def test_resize_output_shape_is_ceil_of_scale_times_input(case):
    h, w, scale, _ = case
    out = degrade.imresize_np(np.zeros((h, w, 3), np.float32), float(scale))
    assert out.shape == (math.ceil(h * scale), math.ceil(w * scale), 3)  # exact rational ceil, as MATLAB means it


@fast(30)
@given(case=resize_cases, value=st.floats(0.0, 1.0))
def test_resize_keeps_a_constant_image_constant(case, value):
    h, w, scale, _ = case
    out = degrade.imresize_np(np.full((h, w, 3), value), float(scale))
    np.testing.assert_allclose(out, value, atol=1e-12)


@fast(40)
@given(case=resize_cases)
def test_resize_stays_within_the_kernels_overshoot_bound(case):
    h, w, scale, seed = case
    image = np.random.default_rng(seed).random((h, w, 3))
    out = degrade.imresize_np(image, float(scale))
    lo, hi = image.min(), image.max()
    slack = RANGE_C * (hi - lo) + 1e-12
    assert lo - slack <= out.min() and out.max() <= hi + slack


def test_the_overshoot_bound_is_nearly_reached():
    # The bound is not vacuous: a 0/1 step enlarged x2 overshoots on both sides by a sizeable part of it.
    corner = np.zeros((8, 8, 1))
    corner[4:, 4:] = 1.0
    out = degrade.imresize_np(corner, 2.0)  # 1.1456 and -0.0753: x2 samples the kernel at t = 1/4, 3/4, not 1/2
    assert 1 + 0.45 * RANGE_C < out.max() <= 1 + RANGE_C and -RANGE_C <= out.min() < -0.07


@fast(15)
@given(case=resize_cases)
def test_numpy_and_jax_resize_agree(case):
    h, w, scale, seed = case
    image = np.random.default_rng(seed).random((h, w, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(degrade.imresize(jnp.asarray(image), float(scale))),
                               degrade.imresize_np(image, float(scale)), atol=1e-5, rtol=0)


# --- metrics -------------------------------------------------------------------------------------------------------

metric_images = st.tuples(st.integers(11, 20), st.integers(11, 20), st.integers(0, 2**32 - 1),
                          st.floats(0.0, 1.0))


def _pair(case):
    h, w, seed, mix = case
    rng = np.random.default_rng(seed)
    a = rng.random((h, w, 3))
    b = np.clip((1 - mix) * a + mix * rng.random((h, w, 3)), 0, 1)  # from identical (mix 0) to independent (mix 1)
    return a, b


@fast(30)
@given(case=metric_images)
def test_psnr_and_ssim_are_symmetric_and_ssim_is_in_its_range(case):
    a, b = _pair(case)
    for psnr in (metrics.psnr_y, metrics.psnr_rgb):
        assert psnr(a, b, crop_border=0) == psnr(b, a, crop_border=0)
    for ssim in (metrics.ssim_y, metrics.ssim_rgb):
        s_ab, s_ba = ssim(a, b, crop_border=0), ssim(b, a, crop_border=0)
        assert s_ab == pytest.approx(s_ba, abs=1e-12)
        assert -1.0 <= s_ab <= 1.0


@fast(15)
@given(case=metric_images)
def test_identical_images_are_inf_db_and_ssim_one(case):
    a, _ = _pair(case)
    assert metrics.psnr_y(a, a, crop_border=0) == math.inf and metrics.psnr_rgb(a, a, crop_border=0) == math.inf
    assert metrics.ssim_y(a, a, crop_border=0) == pytest.approx(1.0, abs=1e-12)
    assert metrics.ssim_rgb(a, a, crop_border=0) == pytest.approx(1.0, abs=1e-12)


@fast(10)
@given(seed=st.integers(0, 2**32 - 1), mix=st.floats(0.05, 1.0))
def test_batched_psnr_gives_inf_for_the_identical_image_and_the_rest_is_unaffected(seed, mix):
    a, b = _pair((16, 16, seed, mix))  # one shape: the batched function compiles once
    if np.array_equal(np.round(a * 255), np.round(b * 255)):
        b = 1 - b  # keep the second pair distinct at uint8 levels
    pred, target = jnp.asarray(np.stack([a, b]), jnp.float32), jnp.asarray(np.stack([a, a]), jnp.float32)
    values = np.asarray(metrics.psnr_y_batch(pred, target, crop_border=0))
    assert values[0] == math.inf and np.isfinite(values[1])
    # Unaffected: the second image's value is the one it gets alone. (Agreement with the NumPy psnr_y is
    # test_metrics.test_batched_jax_psnr_y_matches_numpy's, on real images.)
    assert values[1] == np.asarray(metrics.psnr_y_batch(pred[1:], target[1:], crop_border=0))[0]


def test_an_infinite_psnr_survives_the_aggregate_table_and_json(tmp_path):
    images = [{"name": "same", "psnr_y": math.inf, "ssim_y": 1.0, "psnr_rgb": math.inf, "ssim_rgb": 1.0},
              {"name": "other", "psnr_y": 30.0, "ssim_y": 0.9, "psnr_rgb": 29.0, "ssim_rgb": 0.8}]
    row = {"set": "s", "method": "m", "scale": 2, "mode": "sr", "n_images": 2, "images": images,
           **{k: float(np.mean([i[k] for i in images])) for k in ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")}}
    assert "| inf |" in evaluate.markdown_table([row])
    evaluate.write_json(tmp_path / "r.json", [row])  # strict JSON: inf is written as null, not refused
    text = (tmp_path / "r.json").read_text()
    assert "Infinity" not in text and '"psnr_y": null' in text
