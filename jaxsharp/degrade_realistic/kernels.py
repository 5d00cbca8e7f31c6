"""Blur kernels (2-D, float64, odd size, normalised to sum 1) and `filter2d`, which convolves HWC images with them.

The Gaussian family follows BasicSR's `basicsr/data/degradations.py` (XPixelGroup/BasicSR: `mesh_grid`,
`sigma_matrix2`, `bivariate_Gaussian`, `bivariate_generalized_Gaussian`, `bivariate_plateau`,
`circular_lowpass_kernel`), the kernels Real-ESRGAN draws from. Conventions, as there: the grid runs from
-(size-1)/2 to (size-1)/2 with x along the columns (W) and y along the rows (H, growing downwards); sigma_x is the
spread along x before the rotation. Every angle here (`theta`, motion's `angle`) is in radians and turns +x towards
+y (BasicSR's `U = [[cos, -sin], [sin, cos]]` on (x, y)), which is clockwise as displayed; the pipelines draw
angles uniformly, so only the tests see the sign.

Two kernels BasicSR lacks model the blur cameras really make: `disk` (defocus: the aperture's image, a uniform disk,
anti-aliased by the area each pixel covers) and `motion` (a straight camera shake: a line segment of a given length
and angle, each pixel weighted by the length of the segment inside it, so a horizontal length-5 line is MATLAB's
`fspecial('motion', 5, 0)` = [1 1 1 1 1] / 5; a length-4 one is [1/2 1 1 1 1/2] / 4).

Kernels are point-symmetric (k[-i, -j] = k[i, j]) except a shifted Gaussian (`center`), so correlation and
convolution agree for all of them; `filter2d` convolves (flips the kernel), as `scipy.ndimage.convolve` does.
"""

from __future__ import annotations

import math

import numpy as np

# Sub-pixel samples per pixel side for the disk's covered area (an error of ~1/64 px on the edge length).
_DISK_SUPERSAMPLE = 64
# Samples per pixel of length along a motion path: the length inside each pixel is counted to ~1/1000 px.
_MOTION_SAMPLES_PER_PIXEL = 1000
# Nodes of the trapezoid rule for J1: the integrand is smooth and 2*pi periodic, so the rule converges
# exponentially; 256 nodes give ~1e-15 for the arguments here (|x| < 60, a 21-tap kernel at cutoff pi).
_BESSEL_NODES = 256


def _check_size(size: int, name: str = "size") -> int:
    if int(size) != size or size < 1 or size % 2 == 0:
        raise ValueError(f"{name} must be a positive odd integer, got {size}")
    return int(size)


def _check_positive(value: float, name: str) -> float:
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return value


def mesh_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(xx, yy), each [size, size] float64, centred on 0: xx varies along columns, yy along rows (BasicSR's)."""
    size = _check_size(size)
    ax = np.arange(size, dtype=np.float64) - (size - 1) / 2
    return np.meshgrid(ax, ax)


def _normalise(kernel: np.ndarray) -> np.ndarray:
    total = kernel.sum()
    if not total > 0:
        raise ValueError("kernel has no positive mass (sigma or radius too small for its size?)")
    return kernel / total


def _quadratic_form(size: int, sigma_x: float, sigma_y: float, theta: float,
                    center: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """[size, size] Mahalanobis distance^2 (x - c)^T S^-1 (x - c) with S = U diag(sx^2, sy^2) U^T (BasicSR)."""
    sigma_x, sigma_y = _check_positive(sigma_x, "sigma_x"), _check_positive(sigma_y, "sigma_y")
    xx, yy = mesh_grid(size)
    x, y = xx - center[1], yy - center[0]
    c, s = math.cos(theta), math.sin(theta)
    # Rotating the point by -theta into the kernel's own axes is the same as S^-1 with S = U D U^T.
    u = c * x + s * y
    v = -s * x + c * y
    return (u / sigma_x) ** 2 + (v / sigma_y) ** 2


def gaussian(size: int, sigma_x: float, sigma_y: float | None = None, theta: float = 0.0, *,
             center: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Isotropic (sigma_y None) or anisotropic Gaussian, rotated by theta; [size, size] summing to 1.

    center: (dy, dx) offset of the mean from the kernel's middle, in pixels (BSRGAN's shifted downsampling kernel).
    """
    q = _quadratic_form(size, sigma_x, sigma_x if sigma_y is None else sigma_y, theta, center)
    return _normalise(np.exp(-0.5 * q))


def generalized_gaussian(size: int, sigma_x: float, sigma_y: float | None = None, theta: float = 0.0, *,
                         beta: float) -> np.ndarray:
    """exp(-0.5 q^beta) with q the Gaussian's quadratic form (BasicSR `bivariate_generalized_Gaussian`; beta = 1
    is the Gaussian, beta < 1 has heavier tails, beta > 1 a flatter top)."""
    beta = _check_positive(beta, "beta")
    q = _quadratic_form(size, sigma_x, sigma_x if sigma_y is None else sigma_y, theta)
    return _normalise(np.exp(-0.5 * q ** beta))


def plateau(size: int, sigma_x: float, sigma_y: float | None = None, theta: float = 0.0, *,
            beta: float) -> np.ndarray:
    """1 / (1 + q^beta) (BasicSR `bivariate_plateau`): flat near the centre, half height where q = 1."""
    beta = _check_positive(beta, "beta")
    q = _quadratic_form(size, sigma_x, sigma_x if sigma_y is None else sigma_y, theta)
    return _normalise(1.0 / (1.0 + q ** beta))


def disk(radius: float, size: int | None = None) -> np.ndarray:
    """Defocus blur: a uniform disk of `radius` pixels, each pixel weighted by the area of it the disk covers.

    size: odd, default 2 * ceil(radius) + 1 (the smallest holding the disk).
    """
    radius = _check_positive(radius, "radius")
    size = 2 * math.ceil(radius) + 1 if size is None else _check_size(size)
    n = _DISK_SUPERSAMPLE
    offsets = (np.arange(n) + 0.5) / n - 0.5  # sub-pixel centres within one pixel
    xx, yy = mesh_grid(size)
    sx = xx[:, :, None, None] + offsets[None, None, None, :]
    sy = yy[:, :, None, None] + offsets[None, None, :, None]
    covered = (sx * sx + sy * sy <= radius * radius).mean(axis=(2, 3))
    return _normalise(covered)


def motion(length: float, angle: float, size: int | None = None) -> np.ndarray:
    """Linear motion blur: a segment of `length` pixels through the centre at `angle` radians (from +x towards +y,
    the module's convention), each pixel weighted by the length of the segment inside it.

    size: odd, default 2 * ceil(length / 2) + 1 (the smallest holding the segment at any angle).
    """
    length = _check_positive(length, "length")
    size = 2 * math.ceil(length / 2) + 1 if size is None else _check_size(size)
    n = max(1, int(math.ceil(length * _MOTION_SAMPLES_PER_PIXEL)))
    # Midpoints of n equal pieces: never exactly on a pixel border for the integer lengths used here.
    t = (np.arange(n) + 0.5) / n * length - length / 2
    x = t * math.cos(angle)
    y = t * math.sin(angle)
    half = (size - 1) // 2
    col = np.rint(x).astype(np.int64) + half
    row = np.rint(y).astype(np.int64) + half
    if col.min() < 0 or row.min() < 0 or col.max() >= size or row.max() >= size:
        raise ValueError(f"size {size} is too small for a motion of length {length}")
    kernel = np.bincount(row * size + col, minlength=size * size).astype(np.float64).reshape(size, size)
    return _normalise(kernel)


def bessel_j1(x: np.ndarray) -> np.ndarray:
    """Bessel function of the first kind, order 1, from its integral J1(x) = 1/(2 pi) int cos(t - x sin t) dt over
    a period (a trapezoid rule, exact to ~1e-15 for |x| < 60); NumPy has no Bessel functions and this keeps SciPy
    out of the dependencies."""
    x = np.asarray(x, dtype=np.float64)
    t = np.arange(_BESSEL_NODES) * (2 * np.pi / _BESSEL_NODES)
    return np.cos(t - x[..., None] * np.sin(t)).mean(axis=-1)


def sinc(size: int, cutoff: float) -> np.ndarray:
    """2-D sinc (ideal circular low-pass, BasicSR `circular_lowpass_kernel`): cutoff * J1(cutoff r) / (2 pi r),
    cutoff in radians per pixel (pi = Nyquist). Truncated to `size` it rings (negative lobes): the overshoot
    artefacts of sharpened or resampled images that Real-ESRGAN models with it."""
    size = _check_size(size)
    cutoff = float(cutoff)
    if not 0 < cutoff <= np.pi:
        raise ValueError(f"cutoff must be in (0, pi], got {cutoff}")
    xx, yy = mesh_grid(size)
    r = np.hypot(xx, yy)
    safe = np.where(r == 0, 1.0, r)
    kernel = np.where(r == 0, cutoff ** 2 / (4 * np.pi), cutoff * bessel_j1(cutoff * safe) / (2 * np.pi * safe))
    return kernel / kernel.sum()


def pad_to(kernel: np.ndarray, size: int) -> np.ndarray:
    """Zero-pads an odd square kernel to `size` (odd, not smaller), centred (Real-ESRGAN pads its kernels to 21)."""
    size = _check_size(size)
    pad = size - kernel.shape[0]
    if pad < 0 or pad % 2:
        raise ValueError(f"size must be odd and >= the kernel's {kernel.shape[0]}, got {size}")
    return np.pad(kernel, pad // 2)


def filter2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolves each channel of an HWC image with a 2-D kernel, reflect-padded (edge pixel not repeated, as
    BasicSR's `filter2D` and scipy's mode='mirror'); same size out, float32, not clipped (a sinc overshoots).

    Through the FFT in float64: cost grows with the image, not the taps, so a 21x21 kernel on a full-size
    evaluation image is as cheap as a 3x3.
    """
    image = np.asarray(image)
    kernel = np.asarray(kernel, dtype=np.float64)
    if image.ndim != 3:
        raise ValueError(f"image must be HWC, got shape {image.shape}")
    if kernel.ndim != 2 or kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
        raise ValueError(f"kernel must be 2-D with odd sides, got shape {kernel.shape}")
    h, w, _ = image.shape
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    # np.pad's reflect repeats the reflection when the pad exceeds the image (a 21-tap kernel on a 4-px image).
    padded = np.pad(image.astype(np.float64), ((ry, ry), (rx, rx), (0, 0)), mode="reflect")
    ph, pw = padded.shape[0], padded.shape[1]
    fh, fw = ph + 2 * ry, pw + 2 * rx  # the full linear convolution's size: no circular wrap-around
    spectrum = np.fft.rfft2(padded, s=(fh, fw), axes=(0, 1)) * np.fft.rfft2(kernel, s=(fh, fw))[:, :, None]
    full = np.fft.irfft2(spectrum, s=(fh, fw), axes=(0, 1))
    return full[2 * ry: 2 * ry + h, 2 * rx: 2 * rx + w].astype(np.float32)
