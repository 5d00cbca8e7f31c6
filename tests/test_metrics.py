"""metrics: the official SwinIR outputs' published PSNR/SSIM, the literature's bicubic table, closed forms,
an independent re-implementation of the official SSIM, and NumPy/JAX agreement."""

from __future__ import annotations

import math
import warnings

import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jaxsharp import metrics
from jaxsharp.degrade import bicubic_pair, imresize_np
from jaxsharp.image_io import read_image_rgb

# SwinIR paper, Table 2/3 (Set5, Y channel): folder of official outputs -> (scale, PSNR-Y, SSIM-Y).
SWINIR_SET5 = {
    "classicalSR_SwinIR-M_x2_DIV2K": (2, 38.35, 0.9620),
    "classicalSR_SwinIR-M_x2_DF2K": (2, 38.42, 0.9623),
    "classicalSR_SwinIR-M_x3_DIV2K": (3, 34.89, 0.9312),
    "classicalSR_SwinIR-M_x4_DIV2K": (4, 32.72, 0.9021),
    "lightweightSR_SwinIR-S_x2": (2, 38.14, 0.9611),
    "lightweightSR_SwinIR-S_x3": (3, 34.62, 0.9289),
    "lightweightSR_SwinIR-S_x4": (4, 32.44, 0.8976),
}
# Per image, README of teacher_outputs (official util_calculate_psnr_ssim.py), M x2 DIV2K.
SWINIR_M_X2_IMAGES = {"baby": (39.01, 0.9684), "bird": (43.58, 0.9911), "butterfly": (36.26, 0.9811),
                      "head": (36.11, 0.8932), "woman": (36.81, 0.9761)}
# Bicubic rows of the SR literature's tables (e.g. VDSR, EDSR, SwinIR's predecessors).
BICUBIC_PUBLISHED = {("Set5", 2): (33.66, 0.9299), ("Set5", 3): (30.39, 0.8682), ("Set5", 4): (28.42, 0.8104),
                     ("Set14", 2): (30.24, 0.8688)}


def _swinir_outputs(shared_data, folder):
    for out_path in sorted((shared_data / "teacher_outputs" / "swinir_set5" / folder).glob("*_SwinIR.png")):
        name = out_path.stem.removesuffix("_SwinIR")
        out = read_image_rgb(out_path)
        gt = read_image_rgb(shared_data / "benchmarks" / "Set5" / "HR" / f"{name}.png")
        yield name, out, gt[: out.shape[0], : out.shape[1]]  # GT cropped to the output size, as the official script


@pytest.mark.parametrize("folder", sorted(SWINIR_SET5))
def test_official_swinir_outputs_give_the_paper_numbers(shared_data, folder):
    scale, psnr_paper, ssim_paper = SWINIR_SET5[folder]
    psnrs, ssims = [], []
    for name, out, gt in _swinir_outputs(shared_data, folder):
        psnrs.append(metrics.psnr_y(out, gt, crop_border=scale))
        ssims.append(metrics.ssim_y(out, gt, crop_border=scale))
        if folder == "classicalSR_SwinIR-M_x2_DIV2K":
            assert abs(psnrs[-1] - SWINIR_M_X2_IMAGES[name][0]) <= 0.005 + 1e-9, name
            assert abs(ssims[-1] - SWINIR_M_X2_IMAGES[name][1]) <= 0.00005 + 1e-9, name
    assert len(psnrs) == 5
    assert abs(np.mean(psnrs) - psnr_paper) <= 0.01
    assert abs(np.mean(ssims) - ssim_paper) <= 0.0001


@pytest.mark.parametrize("set_name, scale", sorted(BICUBIC_PUBLISHED))
def test_bicubic_baseline_matches_the_literature(shared_data, set_name, scale):
    # lr from HR with our MATLAB bicubic (identical to the official LR files), then MATLAB bicubic x s on uint8.
    # Set14's bridge.png is a single-channel file; the MATLAB-era tables measured it on its grey values.
    psnr_paper, ssim_paper = BICUBIC_PUBLISHED[(set_name, scale)]
    psnrs, ssims = [], []
    for hr_path in sorted((shared_data / "benchmarks" / set_name / "HR").glob("*.png")):
        with Image.open(hr_path) as img:
            gray = img.mode == "L"
        lr, hr = bicubic_pair(read_image_rgb(hr_path), scale, "sr", quantize=True)
        up = imresize_np(lr, scale, round_between_axes=True)
        psnrs.append(metrics.psnr_y(up, hr, crop_border=scale, gray=gray))
        ssims.append(metrics.ssim_y(up, hr, crop_border=scale, gray=gray))
    assert abs(np.mean(psnrs) - psnr_paper) <= 0.02
    assert abs(np.mean(ssims) - ssim_paper) <= 0.001


def _grid_image(shape, seed, low=20, high=200):
    # Random image on the uint8 grid, away from 0/255 so offsets never clip.
    return np.random.default_rng(seed).integers(low, high, shape).astype(np.float32) / 255.0


@pytest.mark.parametrize("offset", [1, 3, 10])
def test_psnr_of_a_constant_offset(offset):
    target = _grid_image((40, 30, 3), offset)
    pred = target + offset / 255.0
    # RGB: MSE = offset^2. Y: every pixel moves by offset * (65.481 + 128.553 + 24.966) / 255 = offset * 219/255.
    expected_rgb = 20 * math.log10(255 / offset)
    expected_y = 20 * math.log10(255 / (offset * 219 / 255))
    assert metrics.psnr_rgb(pred, target, crop_border=2) == pytest.approx(expected_rgb, abs=1e-9)
    assert metrics.psnr_y(pred, target, crop_border=2) == pytest.approx(expected_y, abs=1e-5)
    batch = (jnp.asarray(pred[None]), jnp.asarray(target[None]))
    assert float(metrics.psnr_y_batch(*batch, crop_border=2)[0]) == pytest.approx(expected_y, rel=1e-6)


def test_identical_images_give_inf_psnr_and_unit_ssim_without_warnings():
    img = _grid_image((24, 24, 3), 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert metrics.psnr_y(img, img, crop_border=2) == math.inf
        assert metrics.psnr_rgb(img, img, crop_border=2) == math.inf
        assert metrics.ssim_y(img, img, crop_border=2) == pytest.approx(1.0, abs=1e-12)
        assert metrics.ssim_rgb(img, img, crop_border=2) == pytest.approx(1.0, abs=1e-12)
        batch = jnp.asarray(np.stack([img, img]))
        assert np.all(np.isinf(np.asarray(metrics.psnr_y_batch(batch, batch, crop_border=2))))


def test_rgb_to_y_bt601_studio_range():
    colours = np.array([[[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]], dtype=np.float32)
    np.testing.assert_allclose(metrics.rgb_to_y(colours)[0], [16, 235, 16 + 65.481, 16 + 128.553, 16 + 24.966],
                               atol=1e-4)


def test_border_is_cropped_and_quantization_is_applied():
    target = _grid_image((30, 30, 3), 1)
    pred = target.copy()
    pred[:3] = 0.0
    pred[:, -3:] = 1.0
    assert metrics.psnr_y(pred, target, crop_border=3) == math.inf
    assert math.isfinite(metrics.psnr_y(pred, target, crop_border=2))
    # +0.3 grey levels rounds back to the same uint8 level; measured as floats it is an MSE of 0.3^2.
    nudged = target.astype(np.float64) + 0.3 / 255.0
    assert metrics.psnr_rgb(nudged, target, crop_border=0) == math.inf
    assert metrics.psnr_rgb(nudged, target, crop_border=0, quantize=False) == pytest.approx(
        20 * math.log10(255 / 0.3), abs=1e-6)


def test_gray_measures_grey_values():
    # For R = G = B = g, BT.601 Y = 16 + 219/255 g: errors shrink by 219/255, PSNR rises by 20 log10(255/219).
    gray = _grid_image((32, 32, 1), 2).repeat(3, axis=-1)
    noisy = np.clip(gray + _grid_image((32, 32, 1), 3, -4, 5).repeat(3, axis=-1), 0, 1)
    bt601 = metrics.psnr_y(noisy, gray, crop_border=2)
    as_is = metrics.psnr_y(noisy, gray, crop_border=2, gray=True)
    assert bt601 - as_is == pytest.approx(20 * math.log10(255 / 219), abs=1e-5)
    assert as_is == pytest.approx(metrics.psnr_rgb(noisy, gray, crop_border=2), abs=1e-9)


def _official_ssim(a, b):
    """The official `_ssim` written out literally: full 2-D 11x11 window (cv2.filter2D), cropped by 5."""
    x = np.arange(11) - 5.0
    g = np.exp(-x * x / (2 * 1.5**2))
    g /= g.sum()
    window = np.outer(g, g)

    def filter_valid(img):
        patches = np.lib.stride_tricks.sliding_window_view(img, (11, 11))
        return np.einsum("ijkl,kl->ij", patches, window)

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu1, mu2 = filter_valid(a), filter_valid(b)
    s1 = filter_valid(a * a) - mu1**2
    s2 = filter_valid(b * b) - mu2**2
    s12 = filter_valid(a * b) - mu1 * mu2
    return (((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1**2 + mu2**2 + c1) * (s1 + s2 + c2))).mean()


def _degraded_crops(shared_data, names=("baby", "bird", "head"), size=(96, 80)):
    hrs, outs = [], []
    for name in names:
        hr = read_image_rgb(shared_data / "benchmarks" / "Set5" / "HR" / f"{name}.png")[: size[0], : size[1]]
        blurry, hr = bicubic_pair(hr, 2, "sharpen", quantize=True)
        outs.append(blurry)
        hrs.append(hr)
    return np.stack(outs), np.stack(hrs)


def test_ssim_matches_the_official_formula(shared_data):
    outs, hrs = _degraded_crops(shared_data, names=("butterfly",))
    y_out = np.round(outs[0] * 255) @ np.array([65.481, 128.553, 24.966]) / 255 + 16
    y_hr = np.round(hrs[0] * 255) @ np.array([65.481, 128.553, 24.966]) / 255 + 16
    assert metrics.ssim_y(outs[0], hrs[0], crop_border=0) == pytest.approx(_official_ssim(y_out, y_hr), abs=1e-7)
    rgb = np.mean([_official_ssim(np.round(outs[0][..., c] * 255), np.round(hrs[0][..., c] * 255)) for c in range(3)])
    assert metrics.ssim_rgb(outs[0], hrs[0], crop_border=0) == pytest.approx(rgb, abs=1e-10)


@pytest.mark.parametrize("quantize", [True, False])
def test_batched_jax_psnr_y_matches_numpy(shared_data, quantize):
    outs, hrs = _degraded_crops(shared_data)
    if not quantize:
        outs = np.clip(outs + np.random.default_rng(0).normal(0, 0.002, outs.shape).astype(np.float32), 0, 1)
    ref = np.array([metrics.psnr_y(o, h, crop_border=2, quantize=quantize) for o, h in zip(outs, hrs)])
    got = np.asarray(metrics.psnr_y_batch(jnp.asarray(outs), jnp.asarray(hrs), crop_border=2, quantize=quantize))
    np.testing.assert_allclose(got, ref, rtol=1e-6)
