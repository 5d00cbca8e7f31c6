"""Sensor noise on HWC float32 images in [0, 1]: additive Gaussian and Poisson (shot) noise, clipped to [0, 1].

After BasicSR's `basicsr/data/degradations.py` (`add_gaussian_noise`, `add_poisson_noise`): sigma is in 8-bit
levels (sigma=5 adds noise of std 5/255), "gray" noise is one field shared by the three channels (luminance noise,
what a camera's denoised output keeps), colour noise is independent per channel. Every draw comes from the `rng`
passed in, so a degradation stays a function of (seed, image).
"""

from __future__ import annotations

import math

import numpy as np

# ITU-R BT.601 luma: what BasicSR's grey Poisson noise takes (OpenCV's BGR2GRAY).
_LUMA = np.array([0.299, 0.587, 0.114])


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3:
        raise ValueError(f"image must be HWC, got shape {image.shape}")
    return image


def gaussian_noise(image: np.ndarray, sigma: float, rng: np.random.Generator, *, gray: bool = False) -> np.ndarray:
    """image + N(0, (sigma / 255)^2), clipped to [0, 1]; float32 HWC. gray: one noise field for all channels."""
    image = _check_image(image)
    sigma = float(sigma)
    if not (sigma >= 0 and math.isfinite(sigma)):
        raise ValueError(f"sigma must be non-negative and finite, got {sigma}")
    shape = image.shape[:2] + (1,) if gray else image.shape
    noise = rng.standard_normal(shape) * (sigma / 255.0)
    return np.clip(image + noise, 0.0, 1.0).astype(np.float32)


def correlated_gaussian_noise(image: np.ndarray, covariance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """image + N(0, covariance) per pixel with the channels correlated (BSRGAN's third noise kind); covariance
    [C, C] in [0, 1] units, symmetric positive semi-definite. Clipped to [0, 1]; float32 HWC."""
    image = _check_image(image)
    covariance = np.asarray(covariance, dtype=np.float64)
    c = image.shape[2]
    if covariance.shape != (c, c) or not np.allclose(covariance, covariance.T):
        raise ValueError(f"covariance must be a symmetric [{c}, {c}] matrix, got shape {covariance.shape}")
    values, vectors = np.linalg.eigh(covariance)
    if values.min() < -1e-12 * max(1.0, values.max()):
        raise ValueError("covariance must be positive semi-definite")
    root = vectors * np.sqrt(np.clip(values, 0.0, None))  # root @ root.T == covariance
    noise = rng.standard_normal(image.shape) @ root.T
    return np.clip(image + noise, 0.0, 1.0).astype(np.float32)


def poisson_noise(image: np.ndarray, rng: np.random.Generator, *, scale: float = 1.0, gray: bool = False,
                  photons: float | None = None) -> np.ndarray:
    """Shot noise: (Poisson(x * photons) / photons - x) * scale added to x, clipped to [0, 1]; float32 HWC.

    The noise variance is scale^2 * x / photons: it grows with the brightness, unlike Gaussian noise. photons (the
    count that maps to 1.0): None takes BasicSR's image-adaptive choice, 2^ceil(log2(number of distinct 8-bit
    levels in the image)). The image is first rounded to 8-bit levels, as there. gray: the noise of the BT.601
    luminance, shared by the channels.
    """
    image = _check_image(image)
    scale = float(scale)
    if not (scale >= 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be non-negative and finite, got {scale}")
    levels = np.clip(np.round(image.astype(np.float64) * 255.0), 0, 255) / 255.0
    if gray:
        luma = levels @ _LUMA if levels.shape[2] == 3 else levels[..., 0]
        levels = (np.clip(np.round(luma * 255.0), 0, 255) / 255.0)[..., None]
    if photons is None:
        photons = 2.0 ** math.ceil(math.log2(max(len(np.unique(levels)), 1)))
    photons = float(photons)
    if not (photons > 0 and math.isfinite(photons)):
        raise ValueError(f"photons must be positive and finite, got {photons}")
    noise = (rng.poisson(levels * photons) / photons - levels) * scale
    return np.clip(image + noise, 0.0, 1.0).astype(np.float32)
