"""Resizes by a named kernel (area, bilinear, bicubic, Lanczos) on HWC float32 images, through Pillow's float mode.

Real-ESRGAN picks its random resizes from torch's 'area', 'bilinear' and 'bicubic' (`F.interpolate`), BSRGAN from
OpenCV's INTER_LINEAR, INTER_CUBIC and INTER_AREA: the same three families, here Pillow's BOX (area averaging),
BILINEAR and BICUBIC (a = -0.5), plus LANCZOS (a = 3) for what image editors and browsers do. Pillow widens the
kernel when shrinking (antialiasing) as OpenCV's INTER_AREA does and torch's bilinear/bicubic do not; every resize
of a real image pipeline that shrinks antialiases, so that is the kernel modelled. Channels are resized one at a
time in Pillow's 32-bit float mode ("F"): no 8-bit rounding, values may overshoot [0, 1] (bicubic, Lanczos).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

KERNELS = {
    "area": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


def resize(image: np.ndarray, size: tuple[int, int], kernel: str) -> np.ndarray:
    """HWC float image -> [size[0], size[1], C] float32 by `kernel` (one of KERNELS); not clipped."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3:
        raise ValueError(f"image must be HWC, got shape {image.shape}")
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; valid kernels: {', '.join(KERNELS)}")
    out_h, out_w = int(size[0]), int(size[1])
    if out_h < 1 or out_w < 1:
        raise ValueError(f"size must be positive, got {tuple(size)}")
    if (out_h, out_w) == image.shape[:2]:
        return image.copy()
    # A 2-D float32 array is Pillow mode "F".
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(image[:, :, c]))
                           .resize((out_w, out_h), KERNELS[kernel]), dtype=np.float32)
                for c in range(image.shape[2])]
    return np.stack(channels, axis=-1)


def scaled_size(hw: tuple[int, int], factor: float) -> tuple[int, int]:
    """int(side * factor) per side, at least 1 (torch's `F.interpolate(scale_factor=...)` floors the same way)."""
    factor = float(factor)
    if not factor > 0:
        raise ValueError(f"factor must be positive, got {factor}")
    return max(1, int(hw[0] * factor)), max(1, int(hw[1] * factor))


def down_up(image: np.ndarray, factor: float, down_kernel: str, up_kernel: str) -> np.ndarray:
    """Shrinks by 1/factor (factor >= 1, sides floored, at least 1 px) with `down_kernel` and resizes back to the
    image's size with `up_kernel`: the detail a thumbnail, a stream or a screenshot lost; float32, same shape,
    clipped to [0, 1] after each step (each is a stored image)."""
    factor = float(factor)
    if not factor >= 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    image = np.asarray(image, dtype=np.float32)
    small = np.clip(resize(image, scaled_size(image.shape[:2], 1.0 / factor), down_kernel), 0.0, 1.0)
    return np.clip(resize(small, image.shape[:2], up_kernel), 0.0, 1.0)


def random_down_up(image: np.ndarray, rng: np.random.Generator, factor_range: tuple[float, float] = (1.0, 4.0),
                   kernels: tuple[str, ...] = tuple(KERNELS)) -> np.ndarray:
    """`down_up` by a factor U[factor_range] with each kernel drawn from `kernels` (all from rng)."""
    low, high = float(factor_range[0]), float(factor_range[1])
    if not 1 <= low <= high:
        raise ValueError(f"factor_range must satisfy 1 <= low <= high, got {tuple(factor_range)}")
    for kernel in kernels:
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r} in kernels; valid kernels: {', '.join(KERNELS)}")
    factor = rng.uniform(low, high)
    down, up = kernels[rng.integers(len(kernels))], kernels[rng.integers(len(kernels))]
    return down_up(image, factor, down, up)
