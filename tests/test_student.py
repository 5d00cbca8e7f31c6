"""Student CNN: adapters against independent references, the residual baseline at init, config, files, tiling, info."""

from __future__ import annotations

import json
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxsharp import degrade, student
from jaxsharp.checkpoint import flat_param_vars, flat_params
from jaxsharp.student import info
from jaxsharp.student.model import Student, abstract
from jaxsharp.student.resample import bicubic_upsample, pixel_unshuffle
from jaxsharp.teacher.swinir import pixel_shuffle


def _image(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def _trained_like(config, seed=0) -> student.Student:
    """A student whose tail is not zero (as after training), so outputs depend on every layer."""
    model = student.build(config, rngs=nnx.Rngs(seed))
    rng = np.random.default_rng(seed + 1)
    model.tail.kernel.set_value(jnp.asarray(rng.normal(0, 0.05, model.tail.kernel.get_value().shape), jnp.float32))
    model.tail.bias.set_value(jnp.asarray(rng.normal(0, 0.01, model.tail.bias.get_value().shape), jnp.float32))
    return model


# --- adapters ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("r", [2, 3])
def test_pixel_unshuffle_inverts_pixel_shuffle_in_torch_channel_order(r):
    x = _image((2, 4 * r, 5 * r, 3))
    y = np.asarray(pixel_unshuffle(jnp.asarray(x), r))
    assert y.shape == (2, 4, 5, 3 * r * r)
    # torch.nn.PixelUnshuffle: output channel c*r*r + i*r + j holds input pixel (r*h + i, r*w + j) of channel c.
    for c in range(3):
        for i in range(r):
            for j in range(r):
                np.testing.assert_array_equal(y[..., c * r * r + i * r + j], x[:, i::r, j::r, c])
    np.testing.assert_array_equal(np.asarray(pixel_shuffle(jnp.asarray(y), r)), x)
    with pytest.raises(ValueError, match="multiples of"):
        pixel_unshuffle(jnp.zeros((1, 5, 4, 3)), 2)


@pytest.mark.parametrize("scale, hw", [(2, (7, 10)), (3, (5, 4)), (4, (6, 9)), (2, (2, 3))])
def test_bicubic_upsample_matches_matlab_reference(scale, hw):
    lr = _image((2, *hw, 3), seed=scale)
    expected = degrade.imresize_np(lr.astype(np.float64), float(scale))  # float64 gather, MATLAB's imresizemex
    got = np.asarray(bicubic_upsample(jnp.asarray(lr), scale))
    assert got.shape == expected.shape == (2, hw[0] * scale, hw[1] * scale, 3)
    np.testing.assert_allclose(got, expected, atol=1e-6)


# --- config -----------------------------------------------------------------------------------------------------

def test_config_json_round_trip_and_rejections():
    config = student.StudentConfig.from_size("small", scale=3, mode="sr")
    assert (config.size, config.channels, config.num_convs) == ("small", 48, 8)
    assert student.StudentConfig.from_json(config.to_json()) == config
    assert student.StudentConfig.from_size("tiny", channels=20).size == "custom"
    for kwargs, message in [(dict(mode="denoise"), "unknown mode"), (dict(scale=0), "scale"), (dict(scale=2.0), "scale"),
                            (dict(num_convs=1), "num_convs"), (dict(channels=0), "channels")]:
        with pytest.raises(ValueError, match=message):
            student.StudentConfig(**kwargs)
    with pytest.raises(ValueError, match="registered sizes: tiny, small, base"):
        student.StudentConfig.from_size("huge")
    bad = json.loads(config.to_json())
    bad["config"]["dropout"] = 0.1
    with pytest.raises(ValueError, match="unknown student config fields"):
        student.StudentConfig.from_dict(bad)


def _conv_params(cin, cout):
    return 9 * cin * cout + cout


@pytest.mark.parametrize("size", list(student.SIZES))
@pytest.mark.parametrize("mode", ["sharpen", "sr"])
def test_parameter_counts_match_the_architecture(size, mode):
    config = student.StudentConfig.from_size(size, scale=2, mode=mode)
    c, n = config.channels, config.num_convs
    head_in = 12 if mode == "sharpen" else 3
    expected = _conv_params(head_in, c) + (n - 2) * _conv_params(c, c) + _conv_params(c, 12)
    assert student.num_params(abstract(config)) == expected  # shapes only: no random init
    if size == "tiny":
        assert 6_000 <= expected <= 9_000
    if size == "small":
        assert expected < 200_000


def test_sr_and_sharpen_share_body_and_tail_shapes():
    shapes = {}
    for mode in ("sharpen", "sr"):
        model = abstract(student.StudentConfig.from_size("tiny", scale=3, mode=mode))
        shapes[mode] = {k: v.shape for k, v in flat_param_vars(model).items()}
    assert shapes["sharpen"].keys() == shapes["sr"].keys()
    differing = {k for k in shapes["sr"] if shapes["sr"][k] != shapes["sharpen"][k]}
    assert differing == {"head/kernel"}  # only the head's input channels: 27 after space-to-depth, 3 for lr
    assert shapes["sharpen"]["head/kernel"][2] == 27 and shapes["sr"]["head/kernel"][2] == 3


# --- forward ----------------------------------------------------------------------------------------------------

def test_untrained_sharpen_student_returns_its_input_exactly():
    config = student.StudentConfig.from_size("tiny", scale=2, mode="sharpen")
    model = student.build(config, rngs=nnx.Rngs(0))
    x = _image((2, 12, 10, 3))
    np.testing.assert_array_equal(np.asarray(model(jnp.asarray(x))), x)


def test_with_features_gives_the_output_and_the_last_hidden_map():
    config = student.StudentConfig.from_size("tiny", scale=2, mode="sharpen")
    model = Student(config, rngs=nnx.Rngs(3))
    model.tail.kernel[...] = jax.random.normal(jax.random.key(0), model.tail.kernel[...].shape) * 0.1
    x = jnp.asarray(np.random.default_rng(1).random((2, 8, 12, 3), dtype=np.float32))
    out, features = model.with_features(x)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(model(x)))
    assert features.shape == (2, 4, 6, config.channels) and float(jnp.min(features)) >= 0  # after a ReLU


def test_untrained_sr_student_returns_matlab_bicubic():
    config = student.StudentConfig.from_size("tiny", scale=3, mode="sr")
    model = student.build(config, rngs=nnx.Rngs(0))
    lr = _image((1, 7, 5, 3))
    out = np.asarray(model(jnp.asarray(lr)))
    np.testing.assert_allclose(out, degrade.imresize_np(lr.astype(np.float64), 3.0), atol=1e-6)


def test_jitted_apply_traces_once_for_batches_of_one_shape(monkeypatch):
    traces = []
    original = Student.__call__
    monkeypatch.setattr(Student, "__call__", lambda self, x: (traces.append(x.shape), original(self, x))[1])
    loaded = student.LoadedStudent(_trained_like(student.StudentConfig.from_size("tiny")))
    outputs = [loaded(jnp.asarray(_image((2, 8, 8, 3), seed))) for seed in range(3)]
    assert traces == [(2, 8, 8, 3)]
    assert not np.allclose(outputs[0], outputs[1])
    # The pure function under a caller's jit (a trainer's step) also traces once for new params and data.
    step = jax.jit(lambda params, x: loaded.apply(params, x) * 2.0)
    params = jax.tree.map(lambda a: a + 1.0, loaded.params)
    for seed in range(3):
        step(params if seed % 2 else loaded.params, jnp.asarray(_image((2, 8, 8, 3), seed)))
    assert len(traces) == 2
    loaded(jnp.zeros((2, 8, 12, 3)))  # a new shape traces again, as it must
    assert len(traces) == 3


@pytest.mark.parametrize("mode, hw, tile", [("sharpen", (61, 90), 48), ("sr", (30, 41), 24)])
def test_tiled_call_equals_whole_image(mode, hw, tile):
    config = student.StudentConfig.from_size("tiny", scale=2, mode=mode)
    loaded = student.LoadedStudent(_trained_like(config))
    x = jnp.asarray(_image((1, *hw, 3), seed=5))
    whole = np.asarray(loaded(x))
    expected_hw = hw if mode == "sharpen" else (2 * hw[0], 2 * hw[1])
    assert whole.shape == (1, *expected_hw, 3)
    assert loaded.default_overlap() < tile  # 4 x the receptive radius: 40 (sharpen, full-size px), 16 (sr, lr px)
    tiled = np.asarray(loaded(x, tile=tile))
    # The default overlap drops a receptive radius at every inner tile edge: exact up to float rounding.
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_sharpen_call_pads_odd_sizes_and_apply_rejects_them():
    loaded = student.LoadedStudent(_trained_like(student.StudentConfig.from_size("tiny", scale=2)))
    x = jnp.asarray(_image((1, 9, 11, 3)))
    assert loaded(x).shape == (1, 9, 11, 3)
    with pytest.raises(ValueError, match="multiples of 2"):
        loaded.apply(loaded.params, x)


# --- space-to-depth blocks larger than the scale -----------------------------------------------------------------

def _block4(num_convs=3, channels=8):
    return student.StudentConfig(scale=2, mode="sharpen", channels=channels, num_convs=num_convs, space_to_depth=4)


def test_block4_student_shapes_identity_and_rejections():
    config = _block4()
    assert (config.block, config.in_channels, config.receptive_radius) == (4, 48, 16)
    shapes = {k: v.shape for k, v in flat_param_vars(abstract(config)).items()}
    assert shapes["head/kernel"] == (3, 3, 48, 8) and shapes["tail/kernel"] == (3, 3, 8, 48)
    x = _image((2, 12, 16, 3))
    np.testing.assert_array_equal(np.asarray(student.build(config, rngs=nnx.Rngs(0))(jnp.asarray(x))), x)
    assert student.StudentConfig.from_dict(json.loads(config.to_json())) == config
    with pytest.raises(ValueError, match="sharpen mode only"):
        student.StudentConfig(scale=2, mode="sr", space_to_depth=4)
    with pytest.raises(ValueError, match="space_to_depth must be"):
        student.StudentConfig(space_to_depth=-1)


def test_block4_receptive_radius_bounds_the_influence_of_a_pixel():
    # The tiling overlap relies on receptive_radius: a pixel may change outputs only closer than it (Chebyshev).
    config = _block4()
    loaded = student.LoadedStudent(_trained_like(config, seed=1))
    x = _image((1, 64, 64, 3), seed=2)
    y = x.copy()
    y[0, 30, 33] += 0.5
    diff = np.abs(np.asarray(loaded(jnp.asarray(y))) - np.asarray(loaded(jnp.asarray(x)))).max(axis=(0, 3))
    rows, cols = np.nonzero(diff > 0)
    reach = max(np.abs(rows - 30).max(), np.abs(cols - 33).max())
    assert 8 < reach < config.receptive_radius  # beyond what a block-2 student of 3 convs sees, inside the bound


def test_block4_tiles_and_mixed_sizes_match_whole_images():
    import jaxsharp

    loaded = student.LoadedStudent(_trained_like(_block4(), seed=3))
    x = _image((1, 101, 150, 3), seed=4)
    whole = np.asarray(loaded(jnp.asarray(x)))
    assert whole.shape == x.shape and loaded.default_overlap() % 4 == 0
    np.testing.assert_allclose(np.asarray(loaded(jnp.asarray(x), tile=90)), whole, atol=1e-5)
    # The library call pads to its buckets (multiples of the block) and crops back; its tiles stay on the block
    # grid, so tiled equals whole there too (mixed sizes, a bucket that is not a multiple of the block).
    images = [x[0], _image((37, 53, 3), seed=5)]
    tiled = jaxsharp.sharpen(images, model=loaded, tile=90, bucket=30)
    whole = jaxsharp.sharpen(images, model=loaded, bucket=30)
    for a, b, image in zip(tiled, whole, images):
        assert a.shape == b.shape == image.shape
        np.testing.assert_allclose(a, b, atol=1e-5)


# --- files ------------------------------------------------------------------------------------------------------

def test_save_load_round_trip(tmp_path):
    config = student.StudentConfig.from_size("tiny", scale=2, mode="sr")
    model = _trained_like(config, seed=3)
    path = student.save(tmp_path / "export", model, config, extra_meta={"steps": 10})
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "params.npz"]
    assert [p.name for p in tmp_path.iterdir()] == ["export"]  # no temporary directory left behind
    loaded = student.load(path)
    assert loaded.config == config and loaded.meta == {"steps": 10}
    x = jnp.asarray(_image((1, 6, 7, 3)))
    reference = np.asarray(student.LoadedStudent(model)(x))  # the same jitted path, the in-memory parameters
    np.testing.assert_array_equal(np.asarray(loaded(x)), reference)
    # Every accepted parameter form saves the same file content.
    with pytest.raises(FileExistsError, match="overwrite=True"):
        student.save(path, loaded, config)
    student.save(path, loaded.params, config, overwrite=True)
    student.save(tmp_path / "flat", flat_params(model), config)
    for other in (path, tmp_path / "flat"):
        np.testing.assert_array_equal(np.asarray(student.load(other)(x)), reference)


def test_save_refuses_parameters_that_do_not_fit_the_config(tmp_path):
    model = student.build(student.StudentConfig.from_size("tiny"), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="do not match the model|has shape"):
        student.save(tmp_path / "x", model, student.StudentConfig.from_size("small"))
    assert not (tmp_path / "x").exists()


def test_load_errors_name_the_file(tmp_path):
    config = student.StudentConfig.from_size("tiny")
    path = student.save(tmp_path / "s", student.build(config, rngs=nnx.Rngs(0)), config)
    params = path / "params.npz"
    good = params.read_bytes()

    params.write_bytes(good[:100])  # truncated zip
    with pytest.raises(ValueError, match=re.escape(str(params))) as err:
        student.load(path)
    assert "\n" not in str(err.value)

    np.savez(params, **{"head/kernel": np.array([{"code": 1}], dtype=object)})  # a pickled object array
    with pytest.raises(ValueError, match=re.escape(str(params))):
        student.load(path)

    np.savez(params, **{"head/kernel": np.zeros((3, 3, 12, 16), np.float32)})  # most parameters missing
    with pytest.raises(ValueError, match=re.escape(str(params)) + ".*missing"):
        student.load(path)

    params.unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(str(params))):
        student.load(path)

    (path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json"):
        student.load(path)


def test_info_prints_params_and_flops_per_frame(capsys):
    assert info.main(["--size", "tiny", "--frame", "96x64"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| tiny"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3] == "8,124" and float(cells[4]) * 1e9 > 0
    # XLA's count against the closed form: 2 FLOPs per multiply-add of every conv at 32x48 low-res pixels, where
    # 'SAME' zero padding leaves (3*32 - 2) * (3*48 - 2) of the 3x3 taps on real pixels; then a few elementwise ops.
    cost = info.frame_cost(student.StudentConfig.from_size("tiny"), (64, 96))
    conv_flops = 2 * (12 * 16 + 2 * 16 * 16 + 16 * 12) * (3 * 32 - 2) * (3 * 48 - 2)
    assert conv_flops <= cost["flops"] <= conv_flops * 1.02
