"""The classic methods users would otherwise reach for, and the one list of every method's name.

    out = baselines.method("unsharp", scale=2, mode="sharpen")(blurry)    # HWC float [0, 1] in and out
    out = baselines.unsharp_mask(image)                                   # the tuned defaults below

Methods (each maps the model input of `degrade`'s pair to an output at HR size):
- bicubic: sr mode, MATLAB bicubic x s of the uint8 lr; sharpen mode, the blurry input itself (identity).
- lanczos: Pillow LANCZOS x s of the uint8 lr (sr mode only).
- unsharp: an unsharp mask on the bicubic image (sr) / the blurry input (sharpen); the classic sharpening
  users reach for. Defaults tuned once on T91 at x2 by experiments/tune_unsharp.py (grid search on Y-PSNR):
  sigma = UNSHARP_SIGMA, amount = UNSHARP_AMOUNT, threshold = UNSHARP_THRESHOLD (see there for the numbers).
- student, teacher: a loaded model through the inference engine (jaxsharp.evaluate.make_method).

METHODS is the order every table, plot and study lists them in; evaluate adds `predictions` (files on disk),
the MOS study `hr` (the hidden reference).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from jaxsharp.image_io import to_uint8

BASELINES = ("bicubic", "lanczos", "unsharp")
MODEL_METHODS = ("student", "teacher")
METHODS = BASELINES + MODEL_METHODS

# Tuned by experiments/tune_unsharp.py on T91, x2, Y-PSNR (its docstring holds the command and the grid).
# Best of sigma {0.5..2} x amount {0.25..4} x threshold {0..4}/255: 32.833 dB vs 32.237 dB for the blurry input.
UNSHARP_SIGMA = 1.0  # Gaussian sigma, pixels
UNSHARP_AMOUNT = 0.75
UNSHARP_THRESHOLD = 1.0 / 255.0  # in [0, 1] units: detail under one grey level is left alone


class UnavailableMethod(ValueError):
    """A baseline asked for in a mode it has no meaning in."""


def unsharp_mask(image: np.ndarray, sigma: float = UNSHARP_SIGMA, amount: float = UNSHARP_AMOUNT,
                 threshold: float = UNSHARP_THRESHOLD) -> np.ndarray:
    """Classic unsharp mask, per channel: x + amount * (x - gaussian(x, sigma)) where |x - gaussian| >= threshold.

    image: HWC float in [0, 1]; returns float32 HWC clipped to [0, 1]. Mirror padding at the borders.
    """
    x = np.asarray(image, dtype=np.float64)
    radius = max(1, int(math.ceil(3.0 * sigma)))
    taps = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-(taps * taps) / (2.0 * sigma * sigma))
    kernel /= kernel.sum()
    h, w = x.shape[:2]
    padded = np.pad(x, ((radius, radius), (radius, radius), (0, 0)), mode="symmetric")
    rows = sum(kernel[i] * padded[i : i + h] for i in range(kernel.size))
    blurred = sum(kernel[j] * rows[:, j : j + w] for j in range(kernel.size))
    detail = x - blurred
    if threshold > 0:
        detail = np.where(np.abs(detail) >= threshold, detail, 0.0)
    return np.clip(x + amount * detail, 0.0, 1.0).astype(np.float32)


def lanczos_up(lr: np.ndarray, scale: int) -> np.ndarray:
    from PIL import Image

    h, w = lr.shape[:2]
    pil = Image.fromarray(to_uint8(lr)).resize((w * scale, h * scale), Image.Resampling.LANCZOS)
    return np.asarray(pil, dtype=np.float32) / 255.0


def bicubic_up(lr: np.ndarray, scale: int) -> np.ndarray:
    """MATLAB bicubic x scale of a uint8-level image, rounded between the axes as MATLAB on uint8."""
    from jaxsharp.degrade import imresize_np  # imports JAX; the names above must not (the MOS CLI lists them)

    return imresize_np(lr, scale, round_between_axes=True)


def method(name: str, *, scale: int, mode: str) -> Callable[[np.ndarray], np.ndarray]:
    """The baseline `name` as a function of the model input (sharpen: the blurry image; sr: the lr image)."""
    if name == "bicubic":
        return (lambda blurry: blurry) if mode == "sharpen" else (lambda lr: bicubic_up(lr, scale))
    if name == "lanczos":
        if mode != "sr":
            raise UnavailableMethod("lanczos needs --mode sr (it upsamples the lr image)")
        return lambda lr: lanczos_up(lr, scale)
    if name == "unsharp":
        return unsharp_mask if mode == "sharpen" else (lambda lr: unsharp_mask(bicubic_up(lr, scale)))
    raise ValueError(f"unknown baseline {name!r}; baselines: {', '.join(BASELINES)}")
