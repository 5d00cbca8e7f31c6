"""degrade_realistic: kernels against closed forms and independent references, noise statistics, codec round trips,
and every registered realistic degradation against jaxsharp.degrade's contract."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from jaxsharp import degrade
from jaxsharp.degrade_realistic import compression, kernels, noise, pipelines
from jaxsharp.degrade_realistic.resize import KERNELS, down_up, random_down_up, resize, scaled_size

REALISTIC = sorted(pipelines.DEGRADATIONS)
RANDOM = ("motion_5_9", "gaussian_1.0_noise_5", "realesrgan", "bsrgan", "real_mix", "real_mix_b25")  # the names that draw from rng
HAS_CODEC = {codec: compression.video_codec_available(codec) for codec in compression.VIDEO_CODECS}


def _needs(name: str):
    """A skip mark for names that need a video codec this PyAV build may lack."""
    codec = "h264" if name.startswith("h264") else "hevc" if name.startswith("hevc") else None
    return pytest.mark.skipif(codec is not None and not HAS_CODEC[codec], reason=f"PyAV lacks {codec}")


def _smooth_image(h: int = 32, w: int = 48) -> np.ndarray:
    """A smooth colourful test picture in (0, 1): what codecs are tuned for (noise would make any PSNR low)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    return np.stack([0.5 + 0.35 * np.sin(x / 6.0 + 0.3), 0.5 + 0.35 * np.cos(y / 5.0),
                     0.5 + 0.25 * np.sin((x + 2 * y) / 9.0)], axis=-1).astype(np.float32)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def _moments(kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (x, y), covariance [[xx, xy], [xy, yy]]) of a kernel as a distribution over its pixel centres."""
    xx, yy = kernels.mesh_grid(kernel.shape[0])
    mean = np.array([(kernel * xx).sum(), (kernel * yy).sum()])
    dx, dy = xx - mean[0], yy - mean[1]
    cov = np.array([[(kernel * dx * dx).sum(), (kernel * dx * dy).sum()],
                    [(kernel * dx * dy).sum(), (kernel * dy * dy).sum()]])
    return mean, cov


# --- kernels ------------------------------------------------------------------------------------------------------

ALL_KERNELS = {
    "gaussian": lambda: kernels.gaussian(15, 1.3),
    "anisotropic": lambda: kernels.gaussian(21, 3.0, 1.0, 0.7),
    "generalized": lambda: kernels.generalized_gaussian(21, 2.0, 1.2, -0.4, beta=0.6),
    "plateau": lambda: kernels.plateau(21, 1.5, 2.5, 1.1, beta=1.7),
    "disk": lambda: kernels.disk(2.5),
    "motion": lambda: kernels.motion(7.3, 0.9),
    "sinc": lambda: kernels.sinc(13, np.pi / 3),
}


@pytest.mark.parametrize("name", ALL_KERNELS)
def test_kernels_sum_to_one_and_are_point_symmetric(name):
    k = ALL_KERNELS[name]()
    assert k.ndim == 2 and k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
    assert abs(k.sum() - 1.0) < 1e-12
    # Point symmetry is what lets filter2d's convolution stand for the literature's correlation.
    np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-12)


def test_gaussian_second_moments_are_the_covariance():
    # Integer samples of a Gaussian keep its variance to ~exp(-2 pi^2 sigma^2) (Poisson summation): for sigma >= 1
    # the kernel's covariance is U diag(sx^2, sy^2) U^T to ~1e-8.
    _, cov = _moments(kernels.gaussian(31, 1.5))
    np.testing.assert_allclose(cov, np.diag([1.5 ** 2] * 2), atol=1e-6)
    sx, sy, theta = 2.5, 1.2, 0.6
    _, cov = _moments(kernels.gaussian(41, sx, sy, theta))
    u = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    np.testing.assert_allclose(cov, u @ np.diag([sx ** 2, sy ** 2]) @ u.T, atol=1e-6)


def test_rotating_an_anisotropic_gaussian_by_90_degrees_swaps_its_axes():
    wide = kernels.gaussian(21, 3.0, 1.0, 0.0)
    assert _moments(wide)[1][0, 0] > 8 * _moments(wide)[1][1, 1]  # sigma_x runs along x (the columns)
    np.testing.assert_allclose(kernels.gaussian(21, 3.0, 1.0, np.pi / 2), kernels.gaussian(21, 1.0, 3.0), atol=1e-12)
    np.testing.assert_allclose(kernels.gaussian(21, 3.0, 1.0, np.pi / 2), wide.T, atol=1e-12)


def test_generalized_gaussian_and_plateau_closed_forms():
    # beta = 1 is the Gaussian; the plateau is half its peak where the quadratic form is 1 (x = sigma on an axis).
    np.testing.assert_allclose(kernels.generalized_gaussian(15, 1.4, 2.0, 0.5, beta=1.0),
                               kernels.gaussian(15, 1.4, 2.0, 0.5), atol=1e-12)
    k = kernels.plateau(15, 3.0, beta=2.5)
    assert k[7, 7 + 3] == pytest.approx(k[7, 7] / 2, rel=1e-12)
    # beta < 1: heavier tails than the Gaussian of the same sigma; beta > 1: flatter top, lighter tails.
    heavy, gauss, flat = (kernels.generalized_gaussian(21, 1.5, beta=b) for b in (0.5, 1.0, 4.0))
    assert heavy[10, 20] > gauss[10, 20] > flat[10, 20]


def test_disk_covers_its_radius_and_nothing_else():
    radius = 2.5
    k = kernels.disk(radius)
    assert k.shape == (7, 7)
    xx, yy = kernels.mesh_grid(7)
    nearest = np.hypot(np.maximum(np.abs(xx) - 0.5, 0), np.maximum(np.abs(yy) - 0.5, 0))  # of each pixel's square
    farthest = np.hypot(np.abs(xx) + 0.5, np.abs(yy) + 0.5)
    assert np.all(k[nearest >= radius] == 0)
    assert np.all(k[nearest < radius - 0.05] > 0)
    # A pixel inside the disk is covered whole: its weight is 1 / (disk area) = 1 / (pi r^2).
    np.testing.assert_allclose(k[farthest <= radius], 1 / (math.pi * radius ** 2), rtol=0.01)


def test_motion_kernel_is_a_line_of_its_length_and_angle():
    # A horizontal line is MATLAB's fspecial('motion', L, 0): L equal taps (half taps at the ends of an even L).
    five = kernels.motion(5, 0.0)  # 7 x 7: room for any angle
    np.testing.assert_allclose(five[3, 1:6], [0.2] * 5, atol=1e-12)
    assert five.sum() == pytest.approx(five[3, 1:6].sum(), abs=1e-12)
    np.testing.assert_allclose(kernels.motion(4, 0.0)[2], np.array([0.5, 1, 1, 1, 0.5]) / 4, atol=1e-12)
    np.testing.assert_allclose(kernels.motion(5, np.pi / 2), kernels.motion(5, 0.0).T, atol=1e-12)
    for length, angle in [(7.0, 0.3), (9.0, 1.2), (6.5, 2.4), (8.0, np.pi / 4)]:
        mean, cov = _moments(kernels.motion(length, angle))
        d = np.array([math.cos(angle), math.sin(angle)])
        n = np.array([-d[1], d[0]])
        along, across = d @ cov @ d, n @ cov @ n
        # A uniform segment of length L has variance L^2 / 12 along it. The pixel grid bins it in steps of up to
        # sqrt(2) px along the line (on a diagonal), which moves that by a fraction of a px^2 (0.29 at L 8, 45 deg).
        assert np.abs(mean).max() < 1e-9
        assert abs(along - length ** 2 / 12) < 0.35, (length, angle, along)
        assert across < 0.25, (length, angle, across)


def test_sinc_matches_the_bessel_closed_form_and_rings():
    special = pytest.importorskip("scipy.special")  # jax's dependency: an independent J1
    x = np.linspace(0.0, 60.0, 601)
    np.testing.assert_allclose(kernels.bessel_j1(x), special.j1(x), atol=1e-13)
    cutoff, size = 2.0, 15
    xx, yy = kernels.mesh_grid(size)
    r = np.hypot(xx, yy)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = np.where(r == 0, cutoff ** 2 / (4 * np.pi), cutoff * special.j1(cutoff * r) / (2 * np.pi * r))
    np.testing.assert_allclose(kernels.sinc(size, cutoff), ref / ref.sum(), atol=1e-14)
    assert kernels.sinc(size, cutoff).min() < -1e-3  # the negative lobes that make ringing


def test_filter2d_matches_a_direct_convolution_and_keeps_constants():
    rng = np.random.default_rng(0)
    image = rng.random((9, 11, 3), dtype=np.float32)
    kernel = rng.random((5, 3))  # asymmetric: the orientation (a convolution, flipped) matters
    ry, rx = 2, 1
    padded = np.pad(image.astype(np.float64), ((ry, ry), (rx, rx), (0, 0)), mode="reflect")
    ref = np.zeros(image.shape)
    for dy in range(-ry, ry + 1):
        for dx in range(-rx, rx + 1):
            ref += kernel[dy + ry, dx + rx] * padded[ry - dy: ry - dy + 9, rx - dx: rx - dx + 11]
    got = kernels.filter2d(image, kernel)
    assert got.dtype == np.float32 and got.shape == image.shape
    np.testing.assert_allclose(got, ref, atol=1e-5)
    constant = np.full((6, 10, 3), 0.37, np.float32)  # smaller than the kernel: the padding reflects repeatedly
    for name, make in ALL_KERNELS.items():
        np.testing.assert_allclose(kernels.filter2d(constant, make()), 0.37, atol=1e-6, err_msg=name)


def test_shifted_gaussian_keeps_block_centres_for_nearest_subsampling():
    # BSRGAN's shifted kernel: after it, every 2nd pixel from the first holds its 2x2 block's centre (2j + 0.5).
    ramp = np.broadcast_to(np.arange(40, dtype=np.float32)[None, :, None], (40, 40, 1)) / 40
    out = kernels.filter2d(ramp, kernels.gaussian(25, 1.0, center=(-0.5, -0.5)))[::2, ::2, 0]
    expected = np.broadcast_to(((2 * np.arange(20) + 0.5) / 40)[None, 5:-5], (10, 10))
    np.testing.assert_allclose(out[5:-5, 5:-5], expected, atol=1e-6)


@pytest.mark.parametrize("call, parameter", [
    (lambda: kernels.gaussian(4, 1.0), "size"),
    (lambda: kernels.gaussian(5, 0.0), "sigma_x"),
    (lambda: kernels.gaussian(5, 1.0, -1.0), "sigma_y"),
    (lambda: kernels.generalized_gaussian(5, 1.0, beta=0), "beta"),
    (lambda: kernels.disk(-1), "radius"),
    (lambda: kernels.motion(0, 0.0), "length"),
    (lambda: kernels.motion(9, 0.0, size=5), "size"),
    (lambda: kernels.sinc(7, 4.0), "cutoff"),
    (lambda: noise.gaussian_noise(np.zeros((2, 2, 3)), -1, np.random.default_rng()), "sigma"),
    (lambda: noise.poisson_noise(np.zeros((2, 2, 3)), np.random.default_rng(), photons=0), "photons"),
    (lambda: resize(np.zeros((4, 4, 3)), (2, 2), "nearest"), "kernel"),
    (lambda: down_up(np.zeros((4, 4, 3)), 0.5, "area", "area"), "factor"),
    (lambda: random_down_up(np.zeros((4, 4, 3)), np.random.default_rng(), (3.0, 2.0)), "factor_range"),
    (lambda: compression.jpeg(np.zeros((4, 4, 3)), 100), "quality"),
    (lambda: compression.video_roundtrip(np.zeros((4, 4, 3)), "vp9", 28), "codec"),
    (lambda: compression.video_roundtrip(np.zeros((4, 4, 3)), "h264", 60), "crf"),
])
def test_bad_parameters_are_one_line_value_errors_naming_the_parameter(call, parameter):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value).startswith(parameter) or f" {parameter}" in str(info.value)
    assert len(str(info.value).splitlines()) == 1


# --- noise and resizes --------------------------------------------------------------------------------------------

def test_gaussian_noise_std_is_sigma_and_gray_noise_is_shared():
    grey = np.full((96, 96, 3), 0.5, np.float32)
    out = noise.gaussian_noise(grey, 10.0, np.random.default_rng(1))
    assert out.dtype == np.float32
    assert np.std(out - grey) == pytest.approx(10 / 255, rel=0.03)
    assert abs(np.corrcoef((out - grey)[..., 0].ravel(), (out - grey)[..., 1].ravel())[0, 1]) < 0.05
    mono = noise.gaussian_noise(grey, 10.0, np.random.default_rng(1), gray=True)
    np.testing.assert_array_equal(mono[..., 0], mono[..., 2])
    assert np.std(mono - grey) == pytest.approx(10 / 255, rel=0.05)
    assert noise.gaussian_noise(np.ones((8, 8, 3)), 50.0, np.random.default_rng(0)).max() <= 1.0  # clipped


def test_poisson_variance_scales_with_the_mean():
    rng = np.random.default_rng(2)
    photons = 256.0
    variances = {}
    for level in (51, 153):  # 0.2 and 0.6 on the 8-bit levels, far from the clip
        x = np.full((128, 128, 3), level / 255, np.float32)
        variances[level] = np.var(noise.poisson_noise(x, rng, photons=photons) - x)
        assert variances[level] == pytest.approx((level / 255) / photons, rel=0.05)
    assert variances[153] / variances[51] == pytest.approx(3.0, rel=0.07)
    x = np.full((128, 128, 3), 0.6, np.float32)
    half = np.var(noise.poisson_noise(x, rng, photons=photons, scale=0.5) - x)
    assert half == pytest.approx(variances[153] / 4, rel=0.07)  # scale multiplies the noise


@pytest.mark.parametrize("kernel", KERNELS)
def test_resizes_keep_constants_and_reach_the_size(kernel):
    constant = np.full((17, 23, 3), 0.25, np.float32)
    for size in [(8, 11), (40, 9)]:
        out = resize(constant, size, kernel)
        assert out.shape == size + (3,) and out.dtype == np.float32
        np.testing.assert_allclose(out, 0.25, atol=1e-6)
    assert scaled_size((17, 23), 0.15) == (2, 3) and scaled_size((3, 3), 0.1) == (1, 1)
    np.testing.assert_allclose(down_up(constant, 3.0, kernel, "bicubic"), 0.25, atol=1e-6)


def test_down_up_loses_detail_keeps_the_shape_and_draws_from_rng():
    image = _smooth_image()
    out = random_down_up(image, np.random.default_rng(0), (2.0, 3.0))
    assert out.shape == image.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    np.testing.assert_array_equal(random_down_up(image, np.random.default_rng(0), (2.0, 3.0)), out)
    assert not np.array_equal(random_down_up(image, np.random.default_rng(1), (2.0, 3.0)), out)
    # Detail lost grows with the factor (the same kernels).
    assert _psnr(down_up(image, 4.0, "area", "bilinear"), image) < _psnr(down_up(image, 1.5, "area", "bilinear"), image)
    np.testing.assert_allclose(down_up(image, 1.0, "lanczos", "lanczos"), image, atol=1e-6)  # factor 1: untouched


# --- codecs -------------------------------------------------------------------------------------------------------

def test_jpeg_round_trip_degrades_sanely():
    image = _smooth_image()
    q40, q90 = compression.jpeg(image, 40), compression.jpeg(image, 90)
    assert q40.shape == image.shape and q40.dtype == np.float32
    np.testing.assert_array_equal(np.round(q40 * 255) / 255, q40)  # decoded 8-bit levels
    assert not np.array_equal(q40, q90)
    assert 25 < _psnr(q40, image) < _psnr(q90, image) < 50


@pytest.mark.parametrize("codec", compression.VIDEO_CODECS)
def test_video_round_trip_degrades_sanely_and_repeats(codec):
    if not HAS_CODEC[codec]:
        pytest.skip(f"PyAV lacks {codec}")
    image = _smooth_image(33, 47)  # odd sides and under 64 px: padded for the codec, cropped back
    crf18 = compression.video_roundtrip(image, codec, 18)
    crf33 = compression.video_roundtrip(image, codec, 33)
    assert crf33.shape == image.shape and crf33.dtype == np.float32
    assert 20 < _psnr(crf33, image) < _psnr(crf18, image) < 50
    np.testing.assert_array_equal(compression.video_roundtrip(image, codec, 33), crf33)  # same bytes every time
    assert not np.array_equal(compression.video_roundtrip(image, codec, 33, pan=0), crf33)  # the motion matters


def test_missing_video_codec_is_a_clear_error(monkeypatch):
    import av

    monkeypatch.setattr(av, "codecs_available", set())
    with pytest.raises(RuntimeError, match="libx265.*PyAV"):
        compression.video_roundtrip(_smooth_image(), "hevc", 28)
    assert not compression.video_codec_available("h264")


# --- the registered degradations ----------------------------------------------------------------------------------

def test_every_realistic_name_is_registered_and_bicubic_is_untouched():
    assert set(REALISTIC) <= set(degrade.DEGRADATIONS)
    assert {"realesrgan", "bsrgan", "gaussian_1.0", "gaussian_1.5", "defocus_r2", "motion_5_9", "jpeg_q40",
            "h264_crf28", "h264_crf33", "gaussian_1.0_noise_5"} <= set(REALISTIC)
    hr = np.random.default_rng(3).random((35, 50, 3), dtype=np.float32)
    for mode in degrade.MODES:
        for got, expected in zip(degrade.pair("bicubic", hr, 2, mode, seed=5), degrade.bicubic_pair(hr, 2, mode)):
            np.testing.assert_array_equal(got, expected)


def test_importing_the_package_first_registers_the_names_too():
    code = ("import jaxsharp.degrade_realistic.pipelines as p; from jaxsharp import degrade; "
            "assert set(p.DEGRADATIONS) <= set(degrade.DEGRADATIONS)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.parametrize("mode", degrade.MODES)
@pytest.mark.parametrize("name", [pytest.param(n, marks=_needs(n)) for n in REALISTIC])
def test_every_realistic_degradation_obeys_the_contract(name, mode):
    hr = _smooth_image(33, 49)  # odd sides: the target is the mod-crop
    model_input, target = degrade.pair(name, hr, 2, mode, seed=7)
    np.testing.assert_array_equal(target, degrade.mod_crop(hr, 2))
    assert model_input.shape == ((16, 24, 3) if mode == "sr" else (32, 48, 3))
    assert model_input.dtype == np.float32
    assert model_input.min() >= 0.0 and model_input.max() <= 1.0
    assert not np.allclose(model_input, target if mode == "sharpen" else degrade.bicubic_pair(hr, 2, "sr")[0],
                           atol=1e-3)  # it does degrade
    again = degrade.pair(name, hr, 2, mode, seed=7)[0]
    np.testing.assert_array_equal(again, model_input)  # a function of (seed, image)
    other = degrade.pair(name, hr, 2, mode, seed=8)[0]
    assert (not np.array_equal(other, model_input)) == (name in RANDOM)


def test_a_batch_is_degraded_image_by_image_from_one_rng():
    hr = np.stack([_smooth_image(), _smooth_image()[::-1]])
    batch, target = degrade.pair("motion_5_9", hr, 2, "sharpen", seed=3)
    assert batch.shape == target.shape == (2, 32, 48, 3)
    rng = np.random.default_rng(3)
    for i in range(2):
        np.testing.assert_array_equal(batch[i], degrade.pair("motion_5_9", hr[i], 2, "sharpen", seed=rng)[0])


def test_fixed_blur_is_the_kernel_applied_at_full_size():
    hr = _smooth_image()
    sigma = 1.5
    xx, yy = np.meshgrid(np.arange(-6, 7), np.arange(-6, 7))
    kernel = np.exp(-(xx ** 2 + yy ** 2) / (2 * sigma ** 2))  # written out: an independent Gaussian
    blurred, _ = degrade.pair("gaussian_1.5", hr, 2, "sharpen")
    np.testing.assert_allclose(blurred, np.clip(kernels.filter2d(hr, kernel / kernel.sum()), 0, 1), atol=1e-6)
    lr, _ = degrade.pair("gaussian_1.5", hr, 2, "sr")
    np.testing.assert_allclose(lr, np.clip(degrade.imresize_np(blurred, 0.5), 0, 1), atol=1e-6)
    quantized, _ = degrade.pair("gaussian_1.5", hr, 2, "sharpen", quantize=True)
    np.testing.assert_array_equal(quantized * 255, np.round(quantized * 255))
    # The noisy family: the same blur plus noise of std ~5 levels.
    noisy, _ = degrade.pair("gaussian_1.0_noise_5", hr, 2, "sharpen", seed=1)
    clean, _ = degrade.pair("gaussian_1.0", hr, 2, "sharpen")
    assert np.std(noisy - clean) == pytest.approx(5 / 255, rel=0.1)


def test_chains_end_on_8_bit_levels_and_vary_per_seed():
    hr = _smooth_image(64, 64)
    for name in ("realesrgan", "bsrgan"):
        outs = [degrade.pair(name, hr, 2, "sr", seed=s)[0] for s in range(4)]
        for out in outs:
            np.testing.assert_array_equal(out * 255, np.round(out * 255))
        assert len({o.tobytes() for o in outs}) == 4
    # x4 exercises BSRGAN's extra first downsampling branch; the shapes still follow the contract.
    for seed in range(4):
        assert degrade.pair("bsrgan", hr, 4, "sr", seed=seed)[0].shape == (16, 16, 3)


def _branches(seeds) -> list[str]:
    return [pipelines.real_mix_sharpen(_smooth_image(), 2, np.random.default_rng(s))[1] for s in seeds]


@pytest.mark.skipif(not all(HAS_CODEC.values()), reason="PyAV lacks a video codec")
def test_real_mix_draws_its_branches_at_their_probabilities():
    branches = _branches(range(600))
    for branch, p in pipelines.REAL_MIX["branches"].items():
        share = branches.count(branch) / len(branches)
        # binomial: 4 standard deviations of a share estimated from 600 draws
        assert abs(share - p) <= 4 * np.sqrt(p * (1 - p) / len(branches)) + 1e-9, (branch, share, p)


def test_real_mix_clean_branch_is_the_picture_and_sr_is_its_bicubic_shrink():
    hr = _smooth_image()
    branches = _branches(range(60))
    clean = branches.index("clean")
    x, target = degrade.pair("real_mix", hr, 2, "sharpen", seed=clean)
    np.testing.assert_array_equal(x, target)  # a sharp picture is handed over untouched
    for seed in range(4):
        sharp_input, _ = degrade.pair("real_mix", hr, 2, "sharpen", seed=seed)
        lr, _ = degrade.pair("real_mix", hr, 2, "sr", seed=seed)
        np.testing.assert_allclose(lr, np.clip(degrade.imresize_np(sharp_input, 0.5), 0, 1), atol=1e-6)


def test_usm_target_sharpens_edges_and_leaves_flat_and_faint_detail_alone():
    from jaxsharp.degrade_realistic.pipelines import usm_target

    flat = np.full((40, 40, 3), 0.4, np.float32)
    np.testing.assert_allclose(usm_target(flat), flat, atol=1e-6)  # no residual, nothing to sharpen
    faint = flat + 0.01 * (np.arange(40)[None, :, None] % 2)  # detail of 2.5 levels, under the 10-level threshold
    np.testing.assert_allclose(usm_target(faint.astype(np.float32)), faint, atol=2e-3)
    step = np.where(np.arange(40)[None, :, None] < 20, 0.3, 0.7) * np.ones((40, 1, 3))
    sharp = usm_target(step.astype(np.float32), weight=0.5)
    assert sharp[:, 19].max() < 0.3 and sharp[:, 20].min() > 0.7  # overshoot on both sides of the edge
    assert sharp.min() >= 0 and sharp.max() <= 1
