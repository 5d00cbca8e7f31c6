"""The classic methods users would otherwise reach for, and the one list of every method's name.

    out = baselines.method("unsharp", scale=2, mode="sharpen")(blurry)    # HWC float [0, 1] in and out
    out = baselines.unsharp_mask(image)                                   # the tuned defaults below
    out = jax.jit(baselines.unsharp_mask_jax)(frames)                     # the same filter, float32, jitted
    out = baselines.unsharp_mask_opencv(frame_uint8)                      # OpenCV's recipe (a different filter)

Methods (each maps the model input of `degrade`'s pair to an output at HR size):
- bicubic: sr mode, MATLAB bicubic x s of the uint8 lr; sharpen mode, the blurry input itself (identity).
- lanczos: Pillow LANCZOS x s of the uint8 lr (sr mode only).
- unsharp: an unsharp mask on the bicubic image (sr) / the blurry input (sharpen); the classic sharpening
  users reach for. Defaults tuned once on T91 at x2 by experiments/tune_unsharp.py (grid search on Y-PSNR):
  sigma = UNSHARP_SIGMA, amount = UNSHARP_AMOUNT, threshold = UNSHARP_THRESHOLD (see there for the numbers).
- student, teacher: a loaded model through the inference engine (jaxsharp.evaluate.make_method).

Three unsharp masks, timed side by side by jaxsharp.bench: `unsharp_mask` (NumPy float64, the reference
evaluate uses), `unsharp_mask_jax` (the same filter as one XLA computation in the input's dtype; float32 agrees
with the reference to UNSHARP_JAX_TOLERANCE) and `unsharp_mask_opencv`, what users of OpenCV reach for on uint8
frames: cv2.GaussianBlur + cv2.addWeighted with OPENCV_UNSHARP_SIGMA / OPENCV_UNSHARP_AMOUNT, no threshold, OpenCV's
default reflect-101 border and uint8 rounding. The last is a different filter (other sigma and amount, no
threshold): its speed is OpenCV's, its quality is not the tuned unsharp mask's.

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


# unsharp_mask_jax in float32 against unsharp_mask (float64 inside): rounding only, except at pixels whose detail
# |x - gaussian(x)| lies within this of the threshold, where the two can fall on different sides of it (an output
# difference of up to amount * threshold there).
UNSHARP_JAX_TOLERANCE = 1e-5

# The recipe OpenCV users usually reach for (issue 16): 1.5 x - 0.5 gaussian(x, sigma 2), i.e. amount 0.5; the
# kernel size follows from sigma (OpenCV: 13 taps for sigma 2 on uint8).
OPENCV_UNSHARP_SIGMA = 2.0
OPENCV_UNSHARP_AMOUNT = 0.5


class UnavailableMethod(ValueError):
    """A baseline asked for in a mode it has no meaning in."""


def gaussian_taps(sigma: float) -> np.ndarray:
    """The unsharp mask's 1-D Gaussian: 2 * ceil(3 sigma) + 1 taps (at least 3), float64, summing to 1."""
    radius = max(1, int(math.ceil(3.0 * sigma)))
    taps = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-(taps * taps) / (2.0 * sigma * sigma))
    return kernel / kernel.sum()


def unsharp_mask(image: np.ndarray, sigma: float = UNSHARP_SIGMA, amount: float = UNSHARP_AMOUNT,
                 threshold: float = UNSHARP_THRESHOLD) -> np.ndarray:
    """Classic unsharp mask, per channel: x + amount * (x - gaussian(x, sigma)) where |x - gaussian| >= threshold.

    image: HWC float in [0, 1]; returns float32 HWC clipped to [0, 1]. Mirror padding at the borders.
    """
    x = np.asarray(image, dtype=np.float64)
    kernel = gaussian_taps(sigma)
    radius = kernel.size // 2
    h, w = x.shape[:2]
    padded = np.pad(x, ((radius, radius), (radius, radius), (0, 0)), mode="symmetric")
    rows = sum(kernel[i] * padded[i : i + h] for i in range(kernel.size))
    blurred = sum(kernel[j] * rows[:, j : j + w] for j in range(kernel.size))
    detail = x - blurred
    if threshold > 0:
        detail = np.where(np.abs(detail) >= threshold, detail, 0.0)
    return np.clip(x + amount * detail, 0.0, 1.0).astype(np.float32)


def unsharp_mask_jax(images, sigma: float = UNSHARP_SIGMA, amount: float = UNSHARP_AMOUNT,
                     threshold: float = UNSHARP_THRESHOLD):
    """`unsharp_mask` as JAX operations, to be jitted: the same separable Gaussian, symmetric padding, threshold and
    clip, computed in the input's dtype (float32: within UNSHARP_JAX_TOLERANCE of `unsharp_mask`, see there).

    images: [..., H, W, C] float array in [0, 1] (HWC or NHWC); returns the same shape and dtype.
    """
    import jax.numpy as jnp  # JAX only here: the names at the top of this module must import without it

    x = jnp.asarray(images)
    kernel = [float(k) for k in gaussian_taps(sigma)]  # Python floats: bfloat16 input stays bfloat16
    radius = len(kernel) // 2
    h, w = x.shape[-3], x.shape[-2]
    padded = jnp.pad(x, [(0, 0)] * (x.ndim - 3) + [(radius, radius), (radius, radius), (0, 0)], mode="symmetric")
    # Shifted slices, not a convolution: XLA fuses them into one pass per axis (a depthwise conv: ~10x slower on the
    # 2-core CPU at 256x256).
    rows = sum(k * padded[..., i : i + h, :, :] for i, k in enumerate(kernel))
    blurred = sum(k * rows[..., :, j : j + w, :] for j, k in enumerate(kernel))
    detail = x - blurred
    if threshold > 0:
        detail = jnp.where(jnp.abs(detail) >= threshold, detail, jnp.zeros_like(detail))
    return jnp.clip(x + amount * detail, 0.0, 1.0).astype(x.dtype)


def unsharp_mask_opencv(image: np.ndarray, sigma: float = OPENCV_UNSHARP_SIGMA,
                        amount: float = OPENCV_UNSHARP_AMOUNT) -> np.ndarray:
    """OpenCV's unsharp mask on a uint8 frame: (1 + amount) x - amount * GaussianBlur(x, sigma), saturated to uint8.

    image: HWC uint8; returns HWC uint8. Needs OpenCV (`pip install 'jaxsharp[bench]'`). Not `unsharp_mask`: no
    threshold, reflect-101 borders, its own sigma and amount (see OPENCV_UNSHARP_*).
    """
    import cv2

    blurred = cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma)
    return cv2.addWeighted(image, 1.0 + amount, blurred, -amount, 0.0)


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
