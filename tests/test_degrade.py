"""degrade: MATLAB bicubic against the official benchmark LR files, closed forms, NumPy/JAX agreement, the registry."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from jaxsharp import degrade
from jaxsharp.degrade import MODES, bicubic_pair, imresize, imresize_np, mod_crop, resize_plan
from jaxsharp.image_io import read_image_rgb, to_uint8


def _official_lr_pairs(shared_data, set_name, scale):
    root = shared_data / "benchmarks" / set_name
    for hr_path in sorted((root / "HR").glob("*.png")):
        lr_path = root / "LR_bicubic" / f"X{scale}" / f"{hr_path.stem}x{scale}.png"
        # bridge.png (Set14) is greyscale: image_io gives 3 equal channels for both files, compared as RGB.
        yield hr_path.stem, mod_crop(read_image_rgb(hr_path), scale), to_uint8(read_image_rgb(lr_path))


@pytest.mark.parametrize("set_name", ["Set5", "Set14"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_reproduces_official_lr_files(shared_data, set_name, scale):
    # The official LR were made by MATLAB imresize on uint8 HR: rounding after each 1-D pass reproduces them
    # bit for bit (the issue asks for >= 99% exact and nothing off by more than 2 levels).
    for name, hr, official in _official_lr_pairs(shared_data, set_name, scale):
        ours = to_uint8(imresize_np(hr, 1 / scale, round_between_axes=True))
        assert ours.shape == official.shape, name
        np.testing.assert_array_equal(ours, official, err_msg=f"{set_name}/{name} x{scale}")


def test_jax_round_between_axes_reproduces_official_lr(shared_data):
    # float32 can round a rare exact tie the other way; 99.9% exact, never more than 1 level.
    exact = total = 0
    for name, hr, official in _official_lr_pairs(shared_data, "Set5", 4):
        ours = to_uint8(np.asarray(imresize(jnp.asarray(hr), 0.25, round_between_axes=True)))
        diff = np.abs(ours.astype(int) - official.astype(int))
        assert diff.max() <= 1, name
        exact += int((diff == 0).sum())
        total += diff.size
    assert exact / total >= 0.999


def test_bicubic_pair_quantized_lr_is_the_official_file(shared_data):
    name, _, official = next(_official_lr_pairs(shared_data, "Set5", 3))
    hr = read_image_rgb(shared_data / "benchmarks" / "Set5" / "HR" / f"{name}.png")
    lr, target = bicubic_pair(hr, 3, "sr", quantize=True)
    np.testing.assert_array_equal(to_uint8(lr), official)
    assert target.shape == mod_crop(hr, 3).shape


@pytest.mark.parametrize("shape, scale, output_shape", [
    ((37, 53, 3), 1 / 2, None),
    ((2, 40, 31, 3), 1 / 3, None),
    ((29, 36, 3), 1 / 4, None),
    ((13, 11, 3), 2, None),
    ((2, 9, 12, 3), 3, None),
    ((8, 10, 3), 4, None),
    ((30, 45, 3), None, (17, 61)),  # H shrinks, W grows: H first
    ((33, 20, 3), None, (50, 9)),   # W shrinks: W first
])
def test_jax_matches_numpy(shape, scale, output_shape):
    x = np.random.default_rng(sum(shape)).random(shape, dtype=np.float32)
    ref = imresize_np(x, scale, output_shape=output_shape)
    got = np.asarray(imresize(jnp.asarray(x), scale, output_shape=output_shape))
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() < 1e-5


@pytest.mark.parametrize("scale", [1 / 4, 1 / 3, 1 / 2, 2, 3, 4])
def test_constant_and_linear_images_are_preserved(scale):
    # Normalised weights keep constants; the symmetric Keys kernel reproduces linear functions, so away from
    # the borders a ramp f(i) = i (1-based) lands exactly on MATLAB's coordinate map u(j) = j/s + (1 - 1/s)/2.
    n = 48
    const = np.full((n, n, 3), 0.3, dtype=np.float64)
    np.testing.assert_allclose(imresize_np(const, scale), 0.3, atol=1e-12)
    ramp = np.broadcast_to(np.arange(1, n + 1, dtype=np.float64)[:, None, None], (n, 5, 1))
    out = imresize_np(ramp, output_shape=(int(round(n * scale)), 5))[:, 0, 0]
    j = np.arange(1, out.size + 1)
    u = j / scale + 0.5 * (1 - 1 / scale)
    interior = (u > 2 / min(scale, 1) + 1) & (u < n - 2 / min(scale, 1))
    assert interior.sum() > out.size // 3
    np.testing.assert_allclose(out[interior], u[interior], atol=1e-9)


def test_resize_plan_sizes_and_order():
    assert resize_plan((510, 255), 1 / 3) == ((170, 85), (1 / 3, 1 / 3), (0, 1))  # no ceil(170.0000001) = 171
    assert resize_plan((5, 7), 2)[0] == (10, 14)
    assert resize_plan((10, 20), output_shape=(5, 30))[2] == (0, 1)
    assert resize_plan((10, 20), output_shape=(20, 5))[2] == (1, 0)
    with pytest.raises(ValueError):
        resize_plan((10, 10))


def test_mod_crop_and_pair_shapes_and_types():
    hr = np.random.default_rng(0).random((35, 50, 3), dtype=np.float32)
    assert mod_crop(hr, 4).shape == (32, 48, 3)
    assert mod_crop(hr[None], 3).shape == (1, 33, 48, 3)
    lr, target = bicubic_pair(hr, 4, "sr")
    assert isinstance(lr, np.ndarray) and lr.dtype == np.float32
    assert lr.shape == (8, 12, 3) and target.shape == (32, 48, 3)
    blurry, target = bicubic_pair(hr, 4, "sharpen")
    assert blurry.shape == target.shape == (32, 48, 3)
    assert blurry.min() >= 0.0 and blurry.max() <= 1.0
    jb, jt = bicubic_pair(jnp.asarray(hr), 4, "sharpen")
    assert isinstance(jb, jnp.ndarray) and not isinstance(jb, np.ndarray)
    assert np.abs(np.asarray(jb) - blurry).max() < 1e-5
    np.testing.assert_array_equal(np.asarray(jt), target)


def test_unknown_mode_names_the_valid_ones():
    with pytest.raises(ValueError, match="sr.*sharpen"):
        bicubic_pair(np.zeros((8, 8, 3), np.float32), 2, "denoise")
    assert MODES == ("sr", "sharpen")


# --- the registry -------------------------------------------------------------------------------------------------

def test_unknown_degradation_is_one_line_naming_the_registered_ones():
    with pytest.raises(ValueError) as info:
        degrade.get("nosuch")
    assert len(str(info.value).splitlines()) == 1
    assert "'nosuch'" in str(info.value) and "bicubic" in str(info.value)
    with pytest.raises(ValueError, match="unknown degradation 'nosuch'"):
        degrade.pair("nosuch", np.zeros((8, 8, 3), np.float32), 2, "sr")
    with pytest.raises(ValueError, match="sr.*sharpen"):
        degrade.pair("bicubic", np.zeros((8, 8, 3), np.float32), 2, "denoise")
    with pytest.raises(ValueError, match="already registered"):
        degrade.register("bicubic")(lambda *a, **k: None)
    assert degrade.DEFAULT == "bicubic" and "bicubic" in degrade.DEGRADATIONS


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("quantize", [False, True])
def test_bicubic_through_the_registry_is_bicubic_pair_bit_for_bit(mode, quantize):
    hr = np.random.default_rng(3).random((35, 50, 3), dtype=np.float32)
    expected = bicubic_pair(hr, 3, mode, quantize=quantize)
    for seed in (None, 0, 7, np.random.default_rng(1)):  # bicubic ignores the seed
        got = degrade.pair("bicubic", hr, 3, mode, quantize=quantize, seed=seed)
        for g, e in zip(got, expected):
            assert g.dtype == e.dtype
            np.testing.assert_array_equal(g, e)
    jax_got = degrade.pair("bicubic", jnp.asarray(hr), 3, mode, quantize=quantize)
    jax_expected = bicubic_pair(jnp.asarray(hr), 3, mode, quantize=quantize)
    for g, e in zip(jax_got, jax_expected):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(e))


def test_sharpen_input_is_bicubic_pairs_upsampling_of_the_lr():
    hr = np.random.default_rng(4).random((24, 30, 3), dtype=np.float32)
    lr, _ = bicubic_pair(hr, 2, "sr", quantize=True)
    np.testing.assert_array_equal(degrade.sharpen_input(lr, 2, quantize=True),
                                  bicubic_pair(hr, 2, "sharpen", quantize=True)[0])


def test_a_registered_degradation_is_deterministic_per_seed(toy_degradation):
    hr = np.random.default_rng(5).random((20, 26, 3), dtype=np.float32)
    lr_bicubic, _ = bicubic_pair(hr, 2, "sr")
    a, target = degrade.pair(toy_degradation, hr, 2, "sr", seed=11)
    np.testing.assert_array_equal(target, mod_crop(hr, 2))
    np.testing.assert_array_equal(degrade.pair(toy_degradation, hr, 2, "sr", seed=11)[0], a)
    np.testing.assert_array_equal(degrade.pair(toy_degradation, hr, 2, "sr", seed=np.random.default_rng(11))[0], a)
    np.testing.assert_array_equal(degrade.pair(toy_degradation, hr, 2, "sr")[0],
                                  degrade.pair(toy_degradation, hr, 2, "sr", seed=0)[0])  # None is seed 0
    b = degrade.pair(toy_degradation, hr, 2, "sr", seed=12)[0]
    assert not np.array_equal(a, b)
    assert 0.005 < np.std(a - lr_bicubic) < 0.03  # the noise is there, at about its sigma (less where clipped)
    sharpen, _ = degrade.pair(toy_degradation, hr, 2, "sharpen", seed=11)
    np.testing.assert_array_equal(sharpen, degrade.sharpen_input(a, 2))  # the sharpen input of the same draw
    # Per-image seeds: stable, distinct per name and per run seed.
    assert degrade.image_seed("T91/t1.png") == degrade.image_seed("T91/t1.png")
    assert len({degrade.image_seed("a"), degrade.image_seed("b"), degrade.image_seed("a", 1)}) == 3


def test_a_degradation_returning_wrong_shapes_is_refused(monkeypatch):
    monkeypatch.setitem(degrade.DEGRADATIONS, "no_crop",
                        lambda hr, scale, mode, *, quantize, rng: (hr[::scale, ::scale], hr))
    with pytest.raises(ValueError, match="'no_crop' returned"):
        degrade.pair("no_crop", np.zeros((9, 8, 3), np.float32), 2, "sr")
