"""PSNR / SSIM the way the SR literature reports them (SwinIR's `utils/util_calculate_psnr_ssim.py`, BasicSR).

Conventions, all of which move the numbers by 0.01-0.5 dB if changed:
- Y channel of BT.601 "studio swing": Y = 16 + 65.481 R + 128.553 G + 24.966 B, R/G/B in [0, 1], Y on 0..255.
  (The official code converts BGR with the coefficients reversed; the sum is the same.)
- `crop_border` pixels (the scale factor, by convention) are removed from every edge before measuring.
- SSIM: 11x11 Gaussian window (sigma 1.5), 'valid' filtering, C1 = (0.01*255)^2, C2 = (0.03*255)^2, on 0..255.
  RGB SSIM is the mean of the per-channel SSIMs; RGB PSNR uses the MSE over all channels.
- quantize=True (the default): both images are first rounded to uint8 levels, because the official numbers are
  measured on saved 8-bit PNGs (`round(clip(x, 0, 1) * 255)`). Pass quantize=False to measure the floats.
- Single-channel (greyscale) files: the official script reads them as 3 equal channels and measures BT.601
  Y = 16 + 219/255 g, which compresses the range and reads 1.32 dB higher than the grey values themselves.
  The MATLAB-era tables (e.g. the bicubic Set14 rows; its bridge.png is single-channel) used the grey values:
  `gray=True` (NumPy functions) does that for a pair the caller knows comes from a single-channel file. It is
  a property of the file, not of the pixels: Set14's man.png is stored as RGB with R = G = B and was measured
  as BT.601 Y. Default False = the official SwinIR script.

NumPy functions (`psnr_y`, `ssim_y`, `psnr_rgb`, `ssim_rgb`) take one HWC RGB image in [0, 1] each and compute in
float64 (the official script's Y is reproduced bit for bit; its SSIM agrees to 1e-13; its Y-PSNR takes the MSE in
float32, which moves it by ~4e-6 dB: left out on purpose). The jit-able `psnr_y_batch` (the train step's metric)
takes NHWC and returns one value per image, in JAX's default float (float32; float64 under `jax_enable_x64`),
within ~1e-7 of NumPy (always BT.601 Y: `gray` is a per-file property the NumPy functions take from their caller).
Evaluation measures whole images of many sizes with the NumPy functions, so no batched SSIM is kept.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

# BT.601 luma weights for R, G, B in [0, 1] -> Y offset from 16 on 0..255.
_Y_COEFFS_RGB = (65.481, 128.553, 24.966)
_SSIM_C1 = (0.01 * 255.0) ** 2
_SSIM_C2 = (0.03 * 255.0) ** 2
_SSIM_SIZE = 11
SSIM_WINDOW = _SSIM_SIZE  # the smallest side (after cropping) SSIM can measure
_SSIM_SIGMA = 1.5


def _gaussian_1d() -> np.ndarray:
    # Same numbers as cv2.getGaussianKernel(11, 1.5): sampled exp(-x^2 / 2 sigma^2), normalised to sum 1.
    x = np.arange(_SSIM_SIZE, dtype=np.float64) - (_SSIM_SIZE - 1) / 2.0
    k = np.exp(-(x * x) / (2.0 * _SSIM_SIGMA**2))
    return k / k.sum()


_GAUSS = _gaussian_1d()


# ----------------------------------------------------------------------------------------------------------------
# NumPy, one image at a time, float64.


def _to_levels_np(image, quantize: bool) -> np.ndarray:
    """[0, 1] HWC -> float64 on 0..255, rounded to integers if quantize (numpy's round, as the official script)."""
    x = np.asarray(image, dtype=np.float64)
    if quantize:
        return np.round(np.clip(x, 0.0, 1.0) * 255.0)
    return x * 255.0


def _check_pair(pred, target) -> None:
    if np.shape(pred) != np.shape(target):
        raise ValueError(f"image shapes differ: {np.shape(pred)} vs {np.shape(target)}")
    if len(np.shape(pred)) != 3 or np.shape(pred)[-1] != 3:
        raise ValueError(f"expected HWC RGB images, got shape {np.shape(pred)}")


def _crop(x: np.ndarray, crop_border: int) -> np.ndarray:
    if crop_border < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    return x[crop_border:-crop_border, crop_border:-crop_border] if crop_border else x


def _y_from_levels(levels: np.ndarray) -> np.ndarray:
    # Reproduces the official to_y_channel bit for bit: it divides by 255 in float32, converts in float64, and
    # stores Y / 255 as float32 before scaling back; order of the sum is the official B, G, R.
    v = (levels.astype(np.float32) / np.float32(255.0)).astype(np.float64)
    r, g, b = v[..., 0], v[..., 1], v[..., 2]
    y = _Y_COEFFS_RGB[2] * b + _Y_COEFFS_RGB[1] * g + _Y_COEFFS_RGB[0] * r + 16.0
    return ((y / 255.0).astype(np.float32) * np.float32(255.0)).astype(np.float64)


def rgb_to_y(rgb, *, quantize: bool = True) -> np.ndarray:
    """BT.601 luma of an RGB image: HWC in [0, 1] -> HW float64 on the 0..255 scale (16..235 for [0, 1] input).

    quantize=True rounds the input to uint8 levels first (the metrics' convention).
    """
    rgb = np.asarray(rgb)
    if rgb.ndim < 1 or rgb.shape[-1] != 3:
        raise ValueError(f"rgb_to_y expects a last axis of 3 (RGB), got shape {rgb.shape}")
    return _y_from_levels(_to_levels_np(rgb, quantize))


def _psnr_levels(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a - b) ** 2)
    if mse == 0:
        return float("inf")
    return float(20.0 * np.log10(255.0 / np.sqrt(mse)))


def _gaussian_valid(x: np.ndarray) -> np.ndarray:
    """2-D Gaussian window over HW, 'valid' region only (the official filter2D output cropped by 5)."""
    n = _SSIM_SIZE
    h, w = x.shape[:2]
    rows = sum(_GAUSS[i] * x[i : h - n + 1 + i] for i in range(n))
    return sum(_GAUSS[j] * rows[:, j : w - n + 1 + j] for j in range(n))


def _ssim_channel(a: np.ndarray, b: np.ndarray) -> float:
    if min(a.shape[:2]) < _SSIM_SIZE:
        raise ValueError(f"SSIM needs at least {_SSIM_SIZE}x{_SSIM_SIZE} pixels after cropping, got {a.shape[:2]}")
    mu1, mu2 = _gaussian_valid(a), _gaussian_valid(b)
    mu1_sq, mu2_sq, mu1_mu2 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    sigma1_sq = _gaussian_valid(a * a) - mu1_sq
    sigma2_sq = _gaussian_valid(b * b) - mu2_sq
    sigma12 = _gaussian_valid(a * b) - mu1_mu2
    ssim_map = ((2 * mu1_mu2 + _SSIM_C1) * (2 * sigma12 + _SSIM_C2)) / (
        (mu1_sq + mu2_sq + _SSIM_C1) * (sigma1_sq + sigma2_sq + _SSIM_C2))
    return float(ssim_map.mean())


def _y_pair_np(pred, target, crop_border: int, quantize: bool, gray: bool) -> tuple[np.ndarray, np.ndarray]:
    _check_pair(pred, target)
    a = _crop(_to_levels_np(pred, quantize), crop_border)
    b = _crop(_to_levels_np(target, quantize), crop_border)
    if gray:
        # The grey value; the channel mean keeps it defined if a model's output is not exactly R = G = B.
        return a.mean(axis=-1), b.mean(axis=-1)
    return _y_from_levels(a), _y_from_levels(b)


def psnr_y(pred, target, *, crop_border: int, quantize: bool = True, gray: bool = False) -> float:
    """PSNR (dB) on BT.601 Y. pred, target: HWC RGB in [0, 1], same shape. inf for identical images.

    gray=True: the pair comes from a single-channel file; measure the grey values (see the module docstring).
    """
    return _psnr_levels(*_y_pair_np(pred, target, crop_border, quantize, gray))


def psnr_rgb(pred, target, *, crop_border: int, quantize: bool = True) -> float:
    """PSNR (dB) over all three RGB channels (one MSE). pred, target: HWC RGB in [0, 1]. inf if identical."""
    _check_pair(pred, target)
    return _psnr_levels(_crop(_to_levels_np(pred, quantize), crop_border),
                        _crop(_to_levels_np(target, quantize), crop_border))


def ssim_y(pred, target, *, crop_border: int, quantize: bool = True, gray: bool = False) -> float:
    """SSIM on BT.601 Y (0..255 scale, Gaussian 11x11 sigma 1.5, valid). pred, target: HWC RGB in [0, 1].

    gray=True: the pair comes from a single-channel file; measure the grey values (see the module docstring).
    """
    return _ssim_channel(*_y_pair_np(pred, target, crop_border, quantize, gray))


def ssim_rgb(pred, target, *, crop_border: int, quantize: bool = True) -> float:
    """Mean over R, G, B of the per-channel SSIM (the official script's 3-channel SSIM)."""
    _check_pair(pred, target)
    a = _crop(_to_levels_np(pred, quantize), crop_border)
    b = _crop(_to_levels_np(target, quantize), crop_border)
    return float(np.mean([_ssim_channel(a[..., c], b[..., c]) for c in range(3)]))


# ----------------------------------------------------------------------------------------------------------------
# JAX, batched over NHWC, jit-able (the train step). Shapes are static per call; crop_border and quantize are static.


def _levels_jax(x: jax.Array, quantize: bool) -> jax.Array:
    x = jnp.asarray(x, dtype=jnp.result_type(float))
    if quantize:
        return jnp.round(jnp.clip(x, 0.0, 1.0) * 255.0)
    return x * 255.0


def _crop_jax(x: jax.Array, crop_border: int) -> jax.Array:
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected NHWC RGB batches, got shape {x.shape}")
    if crop_border < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    return x[:, crop_border:-crop_border, crop_border:-crop_border] if crop_border else x


def _luma_offset(levels: jax.Array) -> jax.Array:
    """Y - 16 on 0..255 from RGB levels; the 16 is left out so that differences of Y lose no precision."""
    coeffs = jnp.asarray(_Y_COEFFS_RGB, dtype=levels.dtype) / 255.0
    return jnp.tensordot(levels, coeffs, axes=((-1,), (0,)), precision=jax.lax.Precision.HIGHEST)


def _psnr_from_diff(diff: jax.Array) -> jax.Array:
    mse = jnp.mean(diff * diff, axis=tuple(range(1, diff.ndim)))
    # mse == 0 gives log10(255^2 / 0) = +inf without a warning (JAX does not warn on division by zero).
    return 10.0 * jnp.log10(255.0**2 / mse)


@functools.partial(jax.jit, static_argnames=("crop_border", "quantize"))
def psnr_y_batch(pred: jax.Array, target: jax.Array, *, crop_border: int, quantize: bool = True) -> jax.Array:
    """Per-image PSNR (dB) on BT.601 Y. pred, target: NHWC RGB in [0, 1] -> [N]; inf where identical."""
    a = _crop_jax(_levels_jax(pred, quantize), crop_border)
    b = _crop_jax(_levels_jax(target, quantize), crop_border)
    return _psnr_from_diff(_luma_offset(a - b))  # Y(a) - Y(b) from level differences: the 16 never rounds
