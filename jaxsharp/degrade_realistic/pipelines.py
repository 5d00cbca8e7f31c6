"""The realistic degradations as `jaxsharp.degrade.Degradation` functions, by name (`DEGRADATIONS`).

jaxsharp.degrade registers every entry of `DEGRADATIONS` in its "Registered degradations" section, so each name
works wherever `--degradation` / `config.data.degradation` is read. The contract is degrade's: hr float32 HWC (or
NHWC) in [0, 1]; (model input, target) with target = mod_crop(hr, scale), the input [H/s, W/s] in mode "sr" and
[H, W] in mode "sharpen"; every random number from `rng`, drawn in the same order in both modes, so the two modes
of one (seed, image) share their draws.

Four shapes of pipeline, by where the picture people have was degraded:

- Blurred at its own size: a camera's defocus, shake or lens blur, then maybe sensor noise. "sharpen" gets the
  degraded full-size image (what a same-size sharpener is handed); "sr" gets it shrunk by the MATLAB bicubic of
  `bicubic.imresize_np` (the lr a teacher sees), the noise added after the shrink so both carry it at full strength.
    gaussian_1.0, gaussian_1.5     isotropic Gaussian, sigma 1.0 / 1.5 px (size 2*ceil(4 sigma)+1)
    defocus_r2                     disk of radius 2 px, anti-aliased (kernels.disk)
    motion_5_9                     line of length U[5, 9] px at an angle U[0, pi), both drawn from rng
    gaussian_1.0_noise_5           Gaussian sigma 1.0, then colour Gaussian noise of sigma 5 levels (of 255)
- The literature's bicubic degradation, then saved as JPEG:
    jpeg_q40                       JPEG quality 40 (4:2:0) of bicubic.bicubic_pair's model input: the lr in "sr",
                                   the soft full-size image in "sharpen" (compressed at the size it is shown)
- Streamed small, played large: "sr" gets the decoded lr, "sharpen" that lr upsampled as a player does.
    h264_crf28, h264_crf33         area down by the scale, H.264 (libx264, preset medium) at CRF 28 / 33 as the
    hevc_crf33                     last frame of a 4-frame clip panning 2 px per frame (a P-frame), bilinear up:
                                   the issue's stream case, a video played full-screen (hevc: libx265)
- Random chains from the blind-SR literature, for training:
    realesrgan                     Real-ESRGAN's second-order degradation (`realesrgan_chain`), ending at the lr
                                   size in "sr" and, from the same draws, at the target's size in "sharpen"
    bsrgan                         BSRGAN's shuffled degradation (`bsrgan_chain`) to the lr; "sharpen" gets it
                                   through bicubic.sharpen_input (MATLAB bicubic up)
- The product's mix, for training the real-world student:
    real_mix, real_mix_b25         one branch per picture (REAL_MIX): untouched, bicubic down-up, camera blur
                                   (Gaussian / defocus / motion, maybe noise and JPEG), a stream (H.264 / HEVC at a
                                   random CRF and size), or one of the chains above; b25: a quarter bicubic

quantize: a stored image is on 8-bit levels; quantize=True rounds the model input to them where the pipeline does
not already end in a codec or rounding (as bicubic.bicubic_pair's quantize makes the bicubic input a uint8 image).
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np

from jaxsharp import bicubic
from jaxsharp.degrade_realistic import compression, kernels, noise
from jaxsharp.degrade_realistic.resize import resize, scaled_size
from jaxsharp.image_io import to_uint8

DEGRADATIONS: dict[str, Callable] = {}


def _add(name: str):
    def add(fn):
        if name in DEGRADATIONS:
            raise ValueError(f"degradation {name!r} is already defined")
        DEGRADATIONS[name] = fn
        return fn
    return add


def _levels(x: np.ndarray) -> np.ndarray:
    """Clipped to [0, 1] and rounded to the 255 levels (image_io.to_uint8, the file edge's rounding), float32."""
    return (to_uint8(x) / 255.0).astype(np.float32)


def _finish(x: np.ndarray, quantize: bool) -> np.ndarray:
    return _levels(x) if quantize else np.clip(x, 0.0, 1.0).astype(np.float32)


def _per_image(fn):
    """Lifts an HWC degradation to the contract's HWC-or-NHWC input: a batch is degraded image by image, drawing
    from the one rng in order (a batch of one is the HWC result)."""

    @functools.wraps(fn)
    def run(hr, scale: int, mode: str, *, quantize: bool, rng: np.random.Generator):
        if mode not in bicubic.MODES:
            raise ValueError(f"unknown mode {mode!r}; valid modes: {', '.join(bicubic.MODES)}")
        hr = np.asarray(hr, dtype=np.float32)
        if hr.ndim == 4:
            pairs = [run(image, scale, mode, quantize=quantize, rng=rng) for image in hr]
            return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
        if hr.ndim != 3:
            raise ValueError(f"hr must be HWC or NHWC, got shape {hr.shape}")
        target = bicubic.mod_crop(hr, int(scale))
        return fn(target, int(scale), mode, quantize=quantize, rng=rng), target

    return run


# ---------------------------------------------------------------------------------------------------------------
# Blur at the picture's own size


def _blurred(target: np.ndarray, scale: int, mode: str, *, quantize: bool, kernel: np.ndarray,
             noise_sigma: float = 0.0, rng: np.random.Generator) -> np.ndarray:
    x = np.clip(kernels.filter2d(target, kernel), 0.0, 1.0)
    if mode == "sr":
        x = np.clip(bicubic.imresize_np(x, 1.0 / scale), 0.0, 1.0)
    if noise_sigma:
        x = noise.gaussian_noise(x, noise_sigma, rng)
    return _finish(x, quantize)


def _gaussian_size(sigma: float) -> int:
    return 2 * math.ceil(4 * sigma) + 1  # the tail beyond 4 sigma holds < 1e-4 of a 1-D Gaussian's mass


def _fixed_blur(name: str, kernel: np.ndarray, noise_sigma: float = 0.0) -> None:
    def degradation(target, scale, mode, *, quantize, rng):
        return _blurred(target, scale, mode, quantize=quantize, kernel=kernel, noise_sigma=noise_sigma, rng=rng)

    degradation.__name__ = degradation.__qualname__ = name.replace(".", "_")
    degradation.__doc__ = f"{name}: see the jaxsharp.degrade_realistic.pipelines docstring."
    _add(name)(_per_image(degradation))


for _sigma in (1.0, 1.5):
    _fixed_blur(f"gaussian_{_sigma}", kernels.gaussian(_gaussian_size(_sigma), _sigma))
_fixed_blur("defocus_r2", kernels.disk(2.0))
_fixed_blur("gaussian_1.0_noise_5", kernels.gaussian(_gaussian_size(1.0), 1.0), noise_sigma=5.0)


@_add("motion_5_9")
@_per_image
def motion_5_9(target, scale, mode, *, quantize, rng):
    """Camera shake: a straight motion blur of length U[5, 9] px at an angle U[0, pi) (both from rng)."""
    length = rng.uniform(5.0, 9.0)
    angle = rng.uniform(0.0, np.pi)
    return _blurred(target, scale, mode, quantize=quantize, kernel=kernels.motion(length, angle), rng=rng)


# ---------------------------------------------------------------------------------------------------------------
# Delivered small, shown large


@_add("jpeg_q40")
@_per_image
def jpeg_q40(target, scale, mode, *, quantize, rng):
    """MATLAB bicubic down (and up in "sharpen", as bicubic_pair), then JPEG at quality 40 (4:2:0)."""
    del rng  # deterministic
    x, _ = bicubic.bicubic_pair(target, scale, mode, quantize=quantize)
    return compression.jpeg(x, 40)


def _stream(name: str, codec: str, crf: float) -> None:
    def degradation(target, scale, mode, *, quantize, rng):
        del rng, quantize  # deterministic; the decoded frames are 8-bit already (bilinear up is rounded below)
        h, w = target.shape[:2]
        lr = np.clip(resize(target, (h // scale, w // scale), "area"), 0.0, 1.0)
        lr = compression.video_roundtrip(lr, codec, crf)
        return lr if mode == "sr" else _levels(resize(lr, (h, w), "bilinear"))

    degradation.__name__ = degradation.__qualname__ = name
    degradation.__doc__ = (f"{name}: area down by the scale, {codec} at CRF {crf:g} (last frame of a panning clip), "
                           "bilinear up in sharpen mode.")
    _add(name)(_per_image(degradation))


_stream("h264_crf28", "h264", 28)
_stream("h264_crf33", "h264", 33)
_stream("hevc_crf33", "hevc", 33)


# ---------------------------------------------------------------------------------------------------------------
# Real-ESRGAN's second-order degradation
#
# Values of Real-ESRGAN's options/train_realesrgan_x2plus.yml (xinntao/Real-ESRGAN; the x4plus file has the same
# degradation values), the order of realesrgan/models/realesrgan_model.py `feed_data`, the kernel draws of
# realesrgan/data/realesrgan_dataset.py and BasicSR's `random_mixed_kernels`.

REALESRGAN = {
    "kernel_sizes": tuple(range(7, 22, 2)),  # realesrgan_dataset.py: kernel_range = [2v+1 for v in range(3, 11)]
    "kernel_list": ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso"),
    "kernel_prob": (0.45, 0.25, 0.12, 0.03, 0.12, 0.03),
    "sinc_prob": 0.1, "blur_sigma": (0.2, 3.0), "betag_range": (0.5, 4.0), "betap_range": (1.0, 2.0),
    "sinc_prob2": 0.1, "blur_sigma2": (0.2, 1.5), "betag_range2": (0.5, 4.0), "betap_range2": (1.0, 2.0),
    "final_sinc_prob": 0.8,
    "resize_prob": (0.2, 0.7, 0.1), "resize_range": (0.15, 1.5),  # up, down, keep
    "gaussian_noise_prob": 0.5, "noise_range": (1.0, 30.0), "poisson_scale_range": (0.05, 3.0),
    "gray_noise_prob": 0.4, "jpeg_range": (30, 95),
    "second_blur_prob": 0.8,
    "resize_prob2": (0.3, 0.4, 0.3), "resize_range2": (0.3, 1.2),
    "gaussian_noise_prob2": 0.5, "noise_range2": (1.0, 25.0), "poisson_scale_range2": (0.05, 2.5),
    "gray_noise_prob2": 0.4, "jpeg_range2": (30, 95),
    "resize_kernels": ("area", "bilinear", "bicubic"),  # torch F.interpolate modes there
}


def _beta(rng: np.random.Generator, beta_range: tuple[float, float]) -> float:
    # BasicSR: half the draws below 1, half above (its ranges straddle 1; [1, 2] makes the lower half exactly 1).
    low, high = beta_range
    return rng.uniform(low, 1.0) if rng.uniform() < 0.5 else rng.uniform(1.0, high)


def random_mixed_kernel(rng: np.random.Generator, size: int, sigma_range: tuple[float, float],
                        betag_range: tuple[float, float], betap_range: tuple[float, float],
                        kinds: tuple[str, ...] = REALESRGAN["kernel_list"],
                        probs: tuple[float, ...] = REALESRGAN["kernel_prob"]) -> np.ndarray:
    """BasicSR `random_mixed_kernels`: a kind by `probs`, sigma_x (and sigma_y, rotation U[-pi, pi] for the
    anisotropic kinds) U[sigma_range], beta as `_beta`; [size, size] summing to 1."""
    kind = kinds[rng.choice(len(kinds), p=np.asarray(probs) / np.sum(probs))]
    sigma_x = rng.uniform(*sigma_range)
    if kind.endswith("iso") and not kind.endswith("aniso"):
        sigma_y, theta = sigma_x, 0.0
    else:
        sigma_y, theta = rng.uniform(*sigma_range), rng.uniform(-np.pi, np.pi)
    if kind in ("iso", "aniso"):
        return kernels.gaussian(size, sigma_x, sigma_y, theta)
    if kind.startswith("generalized"):
        return kernels.generalized_gaussian(size, sigma_x, sigma_y, theta, beta=_beta(rng, betag_range))
    return kernels.plateau(size, sigma_x, sigma_y, theta, beta=_beta(rng, betap_range))


def _realesrgan_kernel(rng: np.random.Generator, sinc_prob: float, sigma_range, betag_range, betap_range):
    size = int(rng.choice(REALESRGAN["kernel_sizes"]))
    if rng.uniform() < sinc_prob:
        # realesrgan_dataset.py: a lower cutoff only for the larger kernels, which can hold its wider lobes.
        cutoff = rng.uniform(np.pi / 3, np.pi) if size < 13 else rng.uniform(np.pi / 5, np.pi)
        return kernels.sinc(size, cutoff)
    return random_mixed_kernel(rng, size, sigma_range, betag_range, betap_range)


def _random_noise(x: np.ndarray, rng: np.random.Generator, gaussian_prob: float, sigma_range, poisson_range,
                  gray_prob: float) -> np.ndarray:
    if rng.uniform() < gaussian_prob:
        sigma = rng.uniform(*sigma_range)
        return noise.gaussian_noise(x, sigma, rng, gray=bool(rng.uniform() < gray_prob))
    scale = rng.uniform(*poisson_range)
    return noise.poisson_noise(x, rng, scale=scale, gray=bool(rng.uniform() < gray_prob))


def _random_jpeg(x: np.ndarray, rng: np.random.Generator, quality_range) -> np.ndarray:
    # DiffJPEG there takes a float quality; libjpeg's is an integer.
    return compression.jpeg(x, int(round(rng.uniform(*quality_range))))


def _random_scale(rng: np.random.Generator, probs, scale_range) -> float:
    updown = rng.choice(3, p=np.asarray(probs))
    if updown == 0:
        return rng.uniform(1.0, scale_range[1])
    if updown == 1:
        return rng.uniform(scale_range[0], 1.0)
    return 1.0


def _resize_kernel(rng: np.random.Generator) -> str:
    return REALESRGAN["resize_kernels"][rng.integers(len(REALESRGAN["resize_kernels"]))]


def realesrgan_chain(target: np.ndarray, scale: int, out_hw: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Real-ESRGAN's degradation of one HWC image, ending at `out_hw`; float32 on the 255 levels.

    blur (kernel1) -> random resize -> Gaussian or Poisson noise -> JPEG, then (blur with kernel2 at p 0.8) ->
    random resize to (H/scale, W/scale) * U-factor -> noise -> [resize to out_hw + final sinc (p 0.8), JPEG] in
    either order (p 0.5) -> rounded to 8-bit. The kernels are drawn first, as the dataset does. Not taken: the
    USM sharpening of the ground truth (the target here is the unsharpened mod_crop(hr) by contract) and the
    training-pair pool (a batching device).
    """
    p = REALESRGAN
    h, w = target.shape[:2]
    kernel1 = _realesrgan_kernel(rng, p["sinc_prob"], p["blur_sigma"], p["betag_range"], p["betap_range"])
    kernel2 = _realesrgan_kernel(rng, p["sinc_prob2"], p["blur_sigma2"], p["betag_range2"], p["betap_range2"])
    sinc_kernel = (kernels.sinc(int(rng.choice(p["kernel_sizes"])), rng.uniform(np.pi / 3, np.pi))
                   if rng.uniform() < p["final_sinc_prob"] else np.ones((1, 1)))

    # The first degradation.
    x = kernels.filter2d(target, kernel1)
    factor = _random_scale(rng, p["resize_prob"], p["resize_range"])
    x = resize(x, scaled_size(x.shape[:2], factor), _resize_kernel(rng))
    x = _random_noise(x, rng, p["gaussian_noise_prob"], p["noise_range"], p["poisson_scale_range"],
                      p["gray_noise_prob"])
    x = _random_jpeg(x, rng, p["jpeg_range"])

    # The second degradation.
    if rng.uniform() < p["second_blur_prob"]:
        x = kernels.filter2d(x, kernel2)
    factor = _random_scale(rng, p["resize_prob2"], p["resize_range2"])
    x = resize(x, (max(1, int(h / scale * factor)), max(1, int(w / scale * factor))), _resize_kernel(rng))
    x = _random_noise(x, rng, p["gaussian_noise_prob2"], p["noise_range2"], p["poisson_scale_range2"],
                      p["gray_noise_prob2"])
    # realesrgan_model.py: other orders of (sinc, JPEG, resize) made twisted lines, so only these two.
    if rng.uniform() < 0.5:
        x = kernels.filter2d(resize(x, out_hw, _resize_kernel(rng)), sinc_kernel)
        x = _random_jpeg(x, rng, p["jpeg_range2"])
    else:
        x = _random_jpeg(x, rng, p["jpeg_range2"])
        x = kernels.filter2d(resize(x, out_hw, _resize_kernel(rng)), sinc_kernel)
    return _levels(x)


@_add("realesrgan")
@_per_image
def realesrgan(target, scale, mode, *, quantize, rng):
    """Real-ESRGAN's second-order degradation (`realesrgan_chain`). "sr": it ends at the lr size (H/s, W/s), as
    there; "sharpen": the same draws, the last resize going back to the target's size instead, so the final sinc
    ringing and JPEG blocks sit at the size the picture is shown (a degraded photo, not an upscaled thumbnail)."""
    del quantize  # rounded to 8-bit levels by the chain itself, as Real-ESRGAN does
    h, w = target.shape[:2]
    out_hw = (h // scale, w // scale) if mode == "sr" else (h, w)
    return realesrgan_chain(target, scale, out_hw, rng)


# ---------------------------------------------------------------------------------------------------------------
# BSRGAN's shuffled degradation
#
# `degradation_bsrgan` of BSRGAN's utils/utils_blindsr.py (cszn/BSRGAN, cszn/KAIR; Zhang et al. 2021, "Designing a
# Practical Degradation Model for Deep Blind Image Super-Resolution"), with OpenCV's resizes as Pillow's (resize.py)
# and the camera-ISP step left out (it needs their ISP model; without one they skip it too).


def _bsrgan_blur(x: np.ndarray, sf: int, rng: np.random.Generator) -> np.ndarray:
    """BSRGAN `add_blur`: half anisotropic Gaussians (eigen-variances U[0, 4 + sf], any angle), half isotropic
    (sigma U[0, 2 + 0.2 sf]), size 2 * randint(2, 11) + 3 (7-25)."""
    size = 2 * int(rng.integers(2, 12)) + 3
    if rng.uniform() < 0.5:
        var1, var2 = (4.0 + sf) * rng.uniform(), (4.0 + sf) * rng.uniform()
        theta = rng.uniform(0.0, np.pi)
        # A near-zero draw is a point: floor the spread rather than divide by zero (the kernel is then a delta).
        kernel = kernels.gaussian(size, max(math.sqrt(var1), 1e-2), max(math.sqrt(var2), 1e-2), theta)
    else:
        kernel = kernels.gaussian(size, max((2.0 + 0.2 * sf) * rng.uniform(), 1e-2))
    return kernels.filter2d(x, kernel)


def _bsrgan_noise(x: np.ndarray, rng: np.random.Generator, low: int = 2, high: int = 25) -> np.ndarray:
    """BSRGAN `add_Gaussian_noise`: level randint(2, 25); colour (p 0.4), grey (p 0.4) or channel-correlated
    (p 0.2, covariance (25/255)^2 U^T D U with U orthonormal, D uniform). BSRGAN takes the elementwise |.| of that
    covariance, which can make it indefinite; the plain product is a valid covariance and is kept."""
    level = int(rng.integers(low, high + 1))
    r = rng.uniform()
    if r > 0.6:
        return noise.gaussian_noise(x, level, rng)
    if r < 0.4:
        return noise.gaussian_noise(x, level, rng, gray=True)
    u = np.linalg.svd(rng.uniform(size=(3, 3)))[0]  # scipy.linalg.orth of a full-rank matrix: its left vectors
    d = np.diag(rng.uniform(size=3))
    return noise.correlated_gaussian_noise(x, (high / 255.0) ** 2 * (u.T @ d @ u), rng)


def _bsrgan_jpeg(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return compression.jpeg(x, int(rng.integers(30, 96)))  # BSRGAN `add_JPEG_noise`: randint(30, 95)


def _bsrgan_resize_kernel(rng: np.random.Generator) -> str:
    return ("bilinear", "bicubic", "area")[rng.integers(3)]  # OpenCV's flags 1, 2, 3 there


def bsrgan_chain(target: np.ndarray, sf: int, rng: np.random.Generator) -> np.ndarray:
    """BSRGAN's degradation of one HWC image to [H/sf, W/sf]; float32 on the 255 levels (it ends in JPEG).

    Seven steps in a random order, the two downsamplings kept in order: blur, blur, downsample2 (p 0.75 a random
    resize by 1/U[1, 2 sf], else a Gaussian of sigma U[0.1, 0.6 sf] shifted to the block centres and nearest
    subsampling by sf), downsample3 (to 1/sf of the size before downsample2), Gaussian noise (2-25 levels),
    JPEG (p 0.9, quality 30-95), camera ISP (left out); then a final JPEG (quality 30-95). The x4-only first
    downsampling (p 0.25 at sf 4) is kept for sf 4.
    """
    x = np.asarray(target, dtype=np.float32)
    h, w = x.shape[:2]
    if sf == 4 and rng.uniform() < 0.25:  # downsample1
        if rng.uniform() < 0.5:
            x = resize(x, (h // 2, w // 2), _bsrgan_resize_kernel(rng))
        else:
            x = bicubic.imresize_np(x, 0.5)
        x = np.clip(x, 0.0, 1.0)
        sf = 2
    order = list(rng.permutation(7))
    i2, i3 = order.index(2), order.index(3)
    if i2 > i3:  # keep downsample3 last of the two
        order[i2], order[i3] = order[i3], order[i2]
    before_down2 = x.shape[:2]
    for step in order:
        if step in (0, 1):
            x = _bsrgan_blur(x, sf, rng)
        elif step == 2:
            before_down2 = x.shape[:2]
            if rng.uniform() < 0.75:
                factor = rng.uniform(1.0, 2.0 * sf)
                x = resize(x, scaled_size(x.shape[:2], 1.0 / factor), _bsrgan_resize_kernel(rng))
            else:
                # BSRGAN's shift_pixel moves the kernel by (sf - 1) / 2 so that the kept pixel (every sf-th from
                # the first) averages its sf x sf block's centre: the same kernel, built shifted.
                shift = -(sf - 1) / 2
                kernel = kernels.gaussian(25, rng.uniform(0.1, 0.6 * sf), center=(shift, shift))
                x = kernels.filter2d(x, kernel)[::sf, ::sf]
            x = np.clip(x, 0.0, 1.0)
        elif step == 3:
            x = np.clip(resize(x, (before_down2[0] // sf, before_down2[1] // sf), _bsrgan_resize_kernel(rng)),
                        0.0, 1.0)
        elif step == 4:
            x = _bsrgan_noise(x, rng)
        elif step == 5:
            if rng.uniform() < 0.9:
                x = _bsrgan_jpeg(x, rng)
        # step 6: the camera ISP model, not available here (BSRGAN skips it without one as well)
    return _bsrgan_jpeg(x, rng)


@_add("bsrgan")
@_per_image
def bsrgan(target, scale, mode, *, quantize, rng):
    """BSRGAN's shuffled degradation (`bsrgan_chain`) to the lr; "sharpen": that lr upsampled by degrade's
    `sharpen_input` (MATLAB bicubic), as every delivered-small degradation here is shown."""
    lr = bsrgan_chain(target, scale, rng)
    return lr if mode == "sr" else bicubic.sharpen_input(lr, scale, quantize=quantize)


# ---------------------------------------------------------------------------------------------------------------
# The product's mix: what a same-size sharpener is handed by its users, for training student_real_x2
#
# One branch per picture, drawn by REAL_MIX["branches"]: a sharp picture left alone (a sharpener must not damage
# it), the literature's bicubic down-up (the control the bicubic students are measured on), a camera's blur (lens
# Gaussian, defocus, shake) with maybe sensor noise and JPEG, a stream (shrunk 1-3x or not at all, H.264 / HEVC at a
# random CRF with a P-frame, played back larger), and a little of the blind-SR chains above. The ranges straddle the evaluation's
# named families (gaussian_1.5, defocus_r2, motion_5_9, h264_crf28/33...) rather than hitting them, so that the
# held-out families measure generalisation across strengths, not memorised kernels.

REAL_MIX = {
    "branches": {"clean": 0.05, "bicubic": 0.15, "camera": 0.45, "stream": 0.25, "realesrgan": 0.05,
                 "bsrgan": 0.05},
    "bicubic_jpeg_prob": 0.2,
    "camera_kernels": {"gaussian": 0.4, "defocus": 0.2, "motion": 0.3, "mixed": 0.1},
    "gaussian_sigma": (0.3, 2.2),  # half of them anisotropic (sigma_y drawn alike, any rotation)
    "defocus_radius": (0.7, 3.0),
    "motion_length": (2.0, 12.0),  # any angle
    "camera_noise_prob": 0.4, "noise_sigma": (1.0, 10.0), "poisson_prob": 0.3, "poisson_scale": (0.05, 1.5),
    "gray_noise_prob": 0.4,
    "camera_jpeg_prob": 0.3, "jpeg_quality": (40, 95),
    "stream_factor": (1.0, 3.0), "stream_down": ("area", "bilinear", "bicubic"), "stream_up": ("bilinear", "bicubic"),
    "stream_hevc_prob": 0.25, "stream_crf": (18.0, 38.0),
}


def _pick(rng: np.random.Generator, probs: dict[str, float]) -> str:
    names = list(probs)
    weights = np.asarray([probs[n] for n in names], dtype=np.float64)
    return names[rng.choice(len(names), p=weights / weights.sum())]


def _camera_kernel(rng: np.random.Generator) -> np.ndarray:
    p = REAL_MIX
    kind = _pick(rng, p["camera_kernels"])
    if kind == "gaussian":
        sigma_x = rng.uniform(*p["gaussian_sigma"])
        if rng.uniform() < 0.5:
            return kernels.gaussian(_gaussian_size(sigma_x), sigma_x)
        sigma_y, theta = rng.uniform(*p["gaussian_sigma"]), rng.uniform(0.0, np.pi)
        return kernels.gaussian(_gaussian_size(max(sigma_x, sigma_y)), sigma_x, sigma_y, theta)
    if kind == "defocus":
        return kernels.disk(rng.uniform(*p["defocus_radius"]))
    if kind == "motion":
        return kernels.motion(rng.uniform(*p["motion_length"]), rng.uniform(0.0, np.pi))
    size = _gaussian_size(p["gaussian_sigma"][1])
    return random_mixed_kernel(rng, size, p["gaussian_sigma"], REALESRGAN["betag_range"], REALESRGAN["betap_range"],
                               kinds=REALESRGAN["kernel_list"][2:], probs=REALESRGAN["kernel_prob"][2:])


# A variant with more of the literature's blur, for the bicubic control: the share moved from the camera and stream
# branches (experiments/student_real_x2.py compares the two on the validation split).
REAL_MIX_BRANCHES = {
    "real_mix": REAL_MIX["branches"],
    "real_mix_b25": {"clean": 0.05, "bicubic": 0.25, "camera": 0.4, "stream": 0.2, "realesrgan": 0.05,
                     "bsrgan": 0.05},
}


def real_mix_sharpen(target: np.ndarray, scale: int, rng: np.random.Generator,
                     branches: dict[str, float] | None = None) -> tuple[np.ndarray, str]:
    """One picture of the mix at the target's size (float32, clipped; the caller rounds) and its branch's name;
    branches: the branch probabilities (default REAL_MIX's)."""
    p = REAL_MIX
    branch = _pick(rng, p["branches"] if branches is None else branches)
    h, w = target.shape[:2]
    if branch == "clean":
        x = target
    elif branch == "bicubic":
        x, _ = bicubic.bicubic_pair(target, scale, "sharpen", quantize=True)
        if rng.uniform() < p["bicubic_jpeg_prob"]:
            x = compression.jpeg(x, int(rng.integers(p["jpeg_quality"][0], p["jpeg_quality"][1] + 1)))
    elif branch == "camera":
        x = np.clip(kernels.filter2d(target, _camera_kernel(rng)), 0.0, 1.0)
        if rng.uniform() < p["camera_noise_prob"]:
            gray = bool(rng.uniform() < p["gray_noise_prob"])
            if rng.uniform() < p["poisson_prob"]:
                x = noise.poisson_noise(x, rng, scale=rng.uniform(*p["poisson_scale"]), gray=gray)
            else:
                x = noise.gaussian_noise(x, rng.uniform(*p["noise_sigma"]), rng, gray=gray)
        if rng.uniform() < p["camera_jpeg_prob"]:
            x = compression.jpeg(x, int(rng.integers(p["jpeg_quality"][0], p["jpeg_quality"][1] + 1)))
    elif branch == "stream":
        factor = rng.uniform(*p["stream_factor"])
        down = p["stream_down"][rng.integers(len(p["stream_down"]))]
        up = p["stream_up"][rng.integers(len(p["stream_up"]))]
        codec = "hevc" if rng.uniform() < p["stream_hevc_prob"] else "h264"
        crf = rng.uniform(*p["stream_crf"])
        small = np.clip(resize(target, scaled_size((h, w), 1.0 / factor), down), 0.0, 1.0)
        x = resize(compression.video_roundtrip(small, codec, crf), (h, w), up)
    elif branch == "realesrgan":
        x = realesrgan_chain(target, scale, (h, w), rng)
    else:
        x = bicubic.sharpen_input(bsrgan_chain(target, scale, rng), scale, quantize=True)
    return np.clip(x, 0.0, 1.0).astype(np.float32), branch


def _real_mix(name: str, branches: dict[str, float]) -> None:
    def degradation(target, scale, mode, *, quantize, rng):
        x, _ = real_mix_sharpen(target, scale, rng, branches)
        if mode == "sr":
            x = np.clip(bicubic.imresize_np(x, 1.0 / scale), 0.0, 1.0)
        return _finish(x, quantize)

    degradation.__name__ = degradation.__qualname__ = name
    degradation.__doc__ = (f"{name}: the product's mix (REAL_MIX, `real_mix_sharpen`) with branches {branches}; "
                           "\"sharpen\" gets the degraded picture at its own size, \"sr\" the same picture shrunk by "
                           "the MATLAB bicubic (the lr a teacher would see).")
    _add(name)(_per_image(degradation))


for _name, _branches in REAL_MIX_BRANCHES.items():
    _real_mix(_name, _branches)


# ---------------------------------------------------------------------------------------------------------------
# Real-ESRGAN's sharpened training target (its `gt_usm`), for the loader's data.target_usm


def usm_target(image: np.ndarray, weight: float = 0.5, radius: int = 50, threshold: float = 10.0) -> np.ndarray:
    """BasicSR's `USMSharp` (basicsr/utils/img_process_util.py) on an HWC float image in [0, 1]: residual = image -
    gaussian(image) with a (2 radius + 1)-tap kernel of OpenCV's default sigma for that size; where |residual| * 255
    exceeds `threshold` the image is sharpened by weight * residual, blended in through the blurred mask."""
    image = np.asarray(image, dtype=np.float32)
    size = 2 * int(radius) + 1
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8  # cv2.getGaussianKernel's sigma for sigma <= 0
    kernel = kernels.gaussian(size, sigma)
    residual = image - kernels.filter2d(image, kernel)
    mask = (np.abs(residual) * 255 > threshold).astype(np.float32)
    soft_mask = kernels.filter2d(mask, kernel)
    sharp = np.clip(image + weight * residual, 0.0, 1.0)
    return (soft_mask * sharp + (1 - soft_mask) * image).astype(np.float32)
