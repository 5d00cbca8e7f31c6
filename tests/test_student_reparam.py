"""Re-parameterised student: every block's collapse equals its branches run literally (borders, biases, identity,
ECBSR's edge branches), the per-step collapse gives the expanded network's output and gradients, and what is saved,
loaded, tiled and trained is the collapsed network. Tolerance 1e-5 throughout, never relaxed (float32 sums)."""

from __future__ import annotations

import functools
import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxsharp import configs, data, degrade, metrics as metrics_lib, models, steps, student_reparam, train_lib
from jaxsharp.checkpoint import flat_param_vars
from jaxsharp.student_reparam import collapse
from jaxsharp.student_reparam.config import ReparamConfig
from jaxsharp.student_reparam.model import LinearBlock, abstract, collapse_student

REPO = pathlib.Path(__file__).resolve().parents[1]
TOL = 1e-5


def _image(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def _randomise(module: nnx.Module, seed: int = 0, std: float = 0.1) -> nnx.Module:
    """Every parameter random, biases and the zero-initialised tail included, so that a wrongly folded bias or a
    branch left out of the collapse changes the output."""
    rng = np.random.default_rng(seed)
    for var in flat_param_vars(module).values():
        shape = var.get_value().shape
        var.set_value(jnp.asarray(rng.normal(0.0, std, shape), jnp.float32))
    return module


def _random(make, seed: int = 0, std: float = 0.1) -> nnx.Module:
    """`make()`'s module with every parameter random (`_randomise`), built from shapes only: no JAX initialiser
    runs, so no per-shape compile of one (seconds on 2 busy cores)."""
    return _randomise(nnx.eval_shape(make), seed, std)


def _rngs() -> nnx.Rngs:
    # XLA's RngBitGenerator: the initialisers compile in a fraction of threefry's time (seconds here, per shape).
    return nnx.Rngs(params=jax.random.key(0, impl="unsafe_rbg"))


def _initialised(config: ReparamConfig) -> student_reparam.ReparamStudent:
    """A freshly initialised student (its zero tail is what is tested)."""
    return student_reparam.build(config, rngs=_rngs())


def _config(**overrides) -> ReparamConfig:
    fields = dict(scale=2, mode="sharpen", channels=6, num_blocks=2, expand=10, head_kernel=5, body_kernel=3)
    return ReparamConfig(**{**fields, **overrides})


def _close(a, b, tol=TOL):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=tol, rtol=0)


# --- blocks: collapse == branches, borders included --------------------------------------------------------------

@pytest.mark.parametrize("cin, cout, k, expand, edges, identity", [
    (5, 7, 3, 9, False, False),   # SESR block changing width: no identity
    (6, 6, 3, 9, False, True),    # SESR body block with its identity
    (5, 7, 5, 9, False, False),   # SESR 5x5 head/tail block
    (6, 6, 3, 9, True, True),     # SESR + ECBSR's edge branches + identity
    (4, 6, 5, 0, True, False),    # ECBSR's branches alone, the 3x3 masks centred in 5x5
])
def test_block_collapse_equals_its_branches_on_odd_sizes(cin, cout, k, expand, edges, identity):
    block = _random(lambda: LinearBlock(cin, cout, k, expand=expand, edge_branches=edges, identity=identity,
                                        rngs=nnx.Rngs(0)), seed=cin + k)
    x = jnp.asarray(_image((2, 13, 17, cin), seed=1) - 0.5)
    expanded, collapsed = nnx.jit(lambda blk, x: (blk.expanded(x), blk(x)))(block, x)  # one compile, not op by op
    assert collapsed.shape == (2, 13, 17, cout)
    _close(collapsed, expanded)
    assert float(jnp.abs(expanded).max()) > 0.1  # not trivially zero
    kernel, bias = block.collapse()
    assert kernel.shape == (k, k, cin, cout) and bias.shape == (cout,)


def test_sesr_bias_folds_through_the_pointwise_conv():
    # Closed form on a constant image away from the border: the SESR branch gives W1x1 . (sum(Wkxk) c + b_kxk) +
    # b_1x1. The official collapse (ARM-software/sesr#14) adds b_kxk to every kernel tap instead, i.e. scales it by
    # k*k*c; with c = 0 it would output b_1x1 alone.
    block = _random(lambda: LinearBlock(3, 4, 3, expand=5, edge_branches=False, rngs=nnx.Rngs(0)), seed=3)
    branch = block.expand_squeeze
    out = block(jnp.zeros((1, 7, 7, 3)))[0, 3, 3]
    expected = np.asarray(branch.bias[...]) @ np.asarray(branch.pointwise[...]) + np.asarray(branch.pointwise_bias[...])
    _close(out, expected)
    assert np.abs(expected - np.asarray(branch.pointwise_bias[...])).max() > 1e-3


def test_edge_branches_need_the_bias_padding_at_the_borders():
    # ECBSR pads the 1x1 output with its bias: with zero padding instead, the expanded branch would differ from the
    # collapsed conv on the one-pixel border ring (and only there), which is what the bias padding fixes.
    block = _random(lambda: LinearBlock(3, 4, 3, expand=0, edge_branches=True, rngs=nnx.Rngs(0)), seed=4, std=0.5)
    edge = block.edges[0]
    x = jnp.asarray(_image((1, 9, 11, 3), seed=2))
    y0 = collapse.conv(x, edge.pointwise[...][None, None], edge.pointwise_bias[...])
    depthwise = jnp.asarray(collapse.MASKS[edge.mask])[:, :, None, None] * edge.scale[...]
    zero_padded = collapse.conv(y0, depthwise, edge.bias[...], groups=4)  # "SAME": zeros around y0
    collapsed = collapse.conv(x, *edge.collapse())
    _close(edge.expanded(x), collapsed)
    diff = np.abs(np.asarray(zero_padded - collapsed))[0].max(axis=-1)
    assert diff[1:-1, 1:-1].max() < TOL and diff.max() > 1e-3


def test_edge_masks_are_the_sobel_and_laplacian_operators():
    ramp = jnp.asarray(np.tile(np.arange(7, dtype=np.float32), (7, 1)))[None, :, :, None]  # value = column
    for name, expected in (("sobel_x", -8.0), ("sobel_y", 0.0), ("laplacian", 0.0)):
        kernel = jnp.asarray(collapse.MASKS[name])[:, :, None, None]
        assert float(collapse.conv(ramp, kernel, padding="VALID")[0, 2, 2, 0]) == expected, name


# --- the network: per-step collapse == expanded, outputs and gradients -------------------------------------------

@pytest.mark.parametrize("overrides", [
    dict(activation="prelu", edge_branches=True),
    dict(mode="sr", scale=3, edge_branches=True, feature_residual=False, head_kernel=3, num_blocks=1),
    dict(space_to_depth=4, input_residual=False),
    dict(color="y", activation="prelu"),
    dict(color="y", mode="sr", scale=2, head_kernel=3),
])
def test_network_collapsed_forward_and_gradients_equal_the_expanded(overrides):
    config = _config(**overrides)
    model = _random(lambda: student_reparam.build(config, rngs=nnx.Rngs(0)), seed=5)
    b = config.block
    hw = (13, 17) if config.mode == "sr" else (3 * b, 5 * b)  # sharpen sizes are multiples of the block
    x = jnp.asarray(_image((2, *hw, 3), seed=6))
    graphdef, params = nnx.split(model, nnx.Param)
    target = jnp.asarray(_image(model(x).shape, seed=7))

    def loss(p, expanded):
        m = nnx.merge(graphdef, p)
        y = m.expanded(x) if expanded else m(x)
        return jnp.mean(jnp.abs(y - target)), y

    @jax.jit
    def both(p):  # one compile for the four results
        return [jax.value_and_grad(functools.partial(loss, expanded=e), has_aux=True)(p) for e in (False, True)]

    ((_, y_collapsed), g_collapsed), ((_, y_expanded), g_expanded) = both(params)
    _close(y_collapsed, y_expanded)
    _close(collapse_student(model)(x), y_expanded)  # the deployed module, run eagerly
    # Feature distillation's view: the same output, and the same tail-input features from both forms.
    out, features = model.with_features(x)
    _close(out, y_expanded)
    _close(collapse_student(model).with_features(x)[1], features)
    side = hw if config.mode == "sr" else (hw[0] // b, hw[1] // b)
    assert features.shape == (2, *side, config.channels)
    flat_c, flat_e = nnx.to_flat_state(g_collapsed), nnx.to_flat_state(g_expanded)
    assert [path for path, _ in flat_c] == [path for path, _ in flat_e] == [path for path, _ in
                                                                              nnx.to_flat_state(params)]
    for (path, a), (_, e) in zip(flat_c, flat_e):
        _close(a[...], e[...])
        # Every expanded weight is trained, but for the 1x1 bias under a zero-sum mask (Sobel, Laplacian): a constant
        # has no edges, so that bias never reaches the output (ECBSR's too).
        dead = "edges" in path and path[-1] == "pointwise_bias"
        assert (float(jnp.abs(a[...]).max()) == 0) == dead, path


def test_untrained_student_is_its_residual_and_collapses_to_plain_convs():
    config = _config(edge_branches=True, activation="prelu")
    model = _initialised(config)
    x = _image((1, 6, 8, 3))
    np.testing.assert_array_equal(np.asarray(model(jnp.asarray(x))), x)
    sr = _initialised(_config(mode="sr", scale=2))
    np.testing.assert_allclose(np.asarray(sr(jnp.asarray(x))), degrade.imresize_np(x.astype(np.float64), 2.0),
                               atol=1e-6)
    shapes = {k: v.shape for k, v in flat_param_vars(collapse_student(model)).items()}
    assert shapes == {"head/kernel": (5, 5, 12, 6), "head/bias": (6,),
                      "body/0/kernel": (3, 3, 6, 6), "body/0/bias": (6,), "act/0/slope": (6,),
                      "body/1/kernel": (3, 3, 6, 6), "body/1/bias": (6,), "act/1/slope": (6,),
                      "tail/kernel": (5, 5, 6, 12), "tail/bias": (12,)}


def test_y_body_sees_luma_and_changes_only_luma():
    config = _config(color="y")
    model = _random(lambda: student_reparam.build(config, rngs=nnx.Rngs(0)), seed=13, std=0.2)
    x = _image((1, 10, 12, 3), seed=14)
    y = np.asarray(model(jnp.asarray(x)), np.float64)
    # The correction is one value per pixel added to R, G and B: Cb and Cr (BT.601, metrics.py's coefficients;
    # their rows sum to zero) are the input's, and Y moves by 0.858 of it.
    delta = y - x
    np.testing.assert_allclose(delta[..., 0], delta[..., 1], atol=1e-6)
    np.testing.assert_allclose(delta[..., 0], delta[..., 2], atol=1e-6)
    cb = np.array([-37.797, -74.203, 112.0]) / 255
    np.testing.assert_allclose(y @ cb, x.astype(np.float64) @ cb, atol=1e-5)
    assert float(np.abs(delta).max()) > 1e-3  # the body did change the image
    # It sees luma only: a change of colour at constant BT.601 Y leaves the correction unchanged.
    luma = np.array([65.481, 128.553, 24.966]) / 255
    shift = np.cross(luma, cb)  # orthogonal to the luma weights: Y unchanged
    x2 = (x + 0.01 * shift / np.abs(shift).max()).astype(np.float32)
    delta2 = np.asarray(model(jnp.asarray(x2)), np.float64) - x2
    np.testing.assert_allclose(delta2, delta, atol=1e-5)
    shapes = {k: v.shape for k, v in flat_param_vars(collapse_student(model)).items()}
    assert shapes["head/kernel"] == (5, 5, 4, 6) and shapes["tail/kernel"] == (5, 5, 6, 4)  # b*b, not 3*b*b


# --- config ------------------------------------------------------------------------------------------------------

def test_config_sizes_json_and_rejections():
    config = ReparamConfig.from_size("m5", scale=2)
    assert (config.size, config.channels, config.num_blocks, config.expand) == ("m5", 16, 5, 256)
    assert ReparamConfig.from_size("m5", expand=64).size == "m5"  # training-only field: same network shape
    assert ReparamConfig.from_size("m5", channels=8).size == "custom"
    assert ReparamConfig.from_json(config.to_json()) == config
    assert (config.kernels, config.receptive_radius) == ((5, 3, 3, 3, 3, 3, 5), 2 * (2 + 5 + 2 + 1))
    for kwargs, message in [(dict(mode="denoise"), "unknown mode"), (dict(scale=0), "scale"),
                            (dict(channels=0), "channels"), (dict(expand=-1), "expand"),
                            (dict(head_kernel=4), "odd"), (dict(body_kernel=0), "odd"),
                            (dict(activation="gelu"), "relu, prelu"), (dict(edge_branches=1), "true or false"),
                            (dict(edge_branches=True, body_kernel=1), "kernels >= 3"),
                            (dict(expand=0), "edge_branches=True"), (dict(mode="sr", space_to_depth=4), "sharpen"),
                            (dict(color="yuv"), "rgb, y"), (dict(color="y", input_residual=False), "input_residual")]:
        with pytest.raises(ValueError, match=message):
            ReparamConfig(**kwargs)
    with pytest.raises(ValueError, match="registered sizes: m3, m5, m11, xl"):
        ReparamConfig.from_size("huge")
    bad = json.loads(config.to_json())
    bad["config"]["dropout"] = 0.1
    with pytest.raises(ValueError, match="unknown reparam student config fields"):
        ReparamConfig.from_dict(bad)


@pytest.mark.parametrize("size", list(student_reparam.SIZES))
def test_collapsed_parameter_counts_match_the_architecture(size):
    config = ReparamConfig.from_size(size, scale=2)
    c, m = config.channels, config.num_blocks
    expected = (25 * 12 * c + c) + m * (9 * c * c + c) + (25 * c * 12 + 12)
    assert student_reparam.num_params(abstract(config)) == expected


# --- what is saved, loaded and tiled is the collapsed network ----------------------------------------------------

@pytest.fixture
def saved(tmp_path):
    config = _config(edge_branches=True, activation="prelu")
    model = _random(lambda: student_reparam.build(config, rngs=nnx.Rngs(0)), seed=8, std=0.05)
    path = student_reparam.save(tmp_path / "export", model, config, extra_meta={"steps": 3})
    return model, config, path


def test_save_writes_collapsed_weights_and_models_load_equals_the_training_module(saved):
    model, config, path = saved
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "params.npz"]
    with np.load(path / "params.npz") as npz:
        assert set(npz.files) == set(flat_param_vars(abstract(config)))  # plain convs and slopes only
    loaded = models.load(path)
    assert isinstance(loaded, student_reparam.LoadedReparamStudent)
    assert (loaded.family, loaded.role, loaded.config, loaded.meta) == ("reparam", "student", config, {"steps": 3})
    assert loaded.num_params == student_reparam.num_params(abstract(config))
    assert loaded.describe()["config"]["edge_branches"] is True
    x = _image((2, 8, 10, 3), seed=9)
    _close(loaded(jnp.asarray(x)), model(jnp.asarray(x)))
    _close(loaded(jnp.asarray(x)), model.expanded(jnp.asarray(x)))
    assert loaded(jnp.asarray(_image((1, 9, 11, 3)))).shape == (1, 9, 11, 3)  # odd sizes padded by the one rule
    with pytest.raises(FileExistsError, match="overwrite=True"):
        student_reparam.save(path, loaded, config)
    student_reparam.save(path, loaded.params, config, overwrite=True)
    _close(models.load(path)(jnp.asarray(x)), model(jnp.asarray(x)))


def test_save_refuses_a_mismatched_config_and_the_plain_family_refuses_the_file(saved, tmp_path):
    model, config, path = saved
    with pytest.raises(ValueError, match="do not match the model|has shape"):
        student_reparam.save(tmp_path / "x", model, _config(channels=8))
    assert not (tmp_path / "x").exists()
    from jaxsharp import student

    with pytest.raises(ValueError, match="not a valid student config"):
        student.load(path)


def test_tiled_equals_whole_through_the_engine(saved):
    _, _, path = saved
    loaded = models.load(path)
    x = jnp.asarray(_image((1, 81, 150, 3), seed=10))
    whole = np.asarray(loaded(x))
    assert loaded.default_overlap() == 4 * loaded.receptive_radius == 56  # a multiple of the block, 2
    _close(loaded(x, tile=64), whole)


@pytest.mark.parametrize("overrides", [dict(), dict(space_to_depth=4, head_kernel=3)])
def test_receptive_radius_bounds_the_influence_of_a_pixel(overrides):
    config = _config(activation="prelu", **overrides)
    loaded = student_reparam.LoadedReparamStudent(
        _random(lambda: student_reparam.build(config, rngs=nnx.Rngs(0)), seed=11, std=0.2))
    x = _image((1, 64, 64, 3), seed=12)
    y = x.copy()
    y[0, 30, 33] += 0.5
    diff = np.abs(np.asarray(loaded(jnp.asarray(y))) - np.asarray(loaded(jnp.asarray(x)))).max(axis=(0, 3))
    rows, cols = np.nonzero(diff > 0)
    reach = max(np.abs(rows - 30).max(), np.abs(cols - 33).max())
    radius = config.receptive_radius
    assert radius - 2 * config.block <= reach < radius  # the bound holds and is tight to within a block


# --- the trainer -------------------------------------------------------------------------------------------------

def test_training_spec_builds_and_one_jitted_train_step_runs(tmp_path):
    config = configs.load_config(REPO / "tests" / "configs" / "reparam_tiny.py")
    train_lib.validate_config(config)
    spec = models.training_spec(config)
    assert spec.name == "student" and spec.loaded is student_reparam.LoadedReparamStudent
    # As train_lib builds it: the structure from shapes, the parameters by one jitted initialiser.
    model = nnx.eval_shape(lambda: spec.build(nnx.Rngs(0)))
    assert isinstance(model, student_reparam.ReparamStudent) and model.config.expand == 16
    assert model.config.channels == 8
    graphdef, _ = steps.split_model(model)
    params = jax.jit(lambda: steps.split_model(spec.build(_rngs()))[1])()
    tx, _ = train_lib.make_optimizer(config.optim, config.steps)
    step = jax.jit(steps.make_train_step(graphdef, tx, loss_fn=train_lib.make_loss_fn(config, spec.forward),
                                         key=jax.random.key(0), psnr_crop_border=config.data.scale))
    shapes = data.batch_shapes(crop_size=config.data.crop_size, scale=config.data.scale,
                               mode=config.data.mode, batch_size=config.data.batch_size)
    batch = {k: jnp.asarray(_image(s, seed=i)) for i, (k, s) in enumerate(sorted(shapes.items()))}
    state, metrics = step(steps.init_train_state(params, tx), batch)
    assert int(state["step"]) == 1 and np.isfinite(float(metrics["loss"]))
    # A crop the model gets exactly right (here the untrained student, which returns its input, on a crop whose
    # target is that input) has PSNR inf: the logged batch PSNR is the mean of the other crops, not inf.
    exact = {**batch, "target": batch["target"].at[0].set(batch["input"][0])}
    _, exact_metrics = step(steps.init_train_state(params, tx), exact)
    others = metrics_lib.psnr_y_batch(exact["input"], exact["target"], crop_border=config.data.scale)
    assert not np.isfinite(float(others[0]))
    assert float(exact_metrics["psnr_y"]) == pytest.approx(float(jnp.mean(others[1:])), abs=1e-4)
    moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), state["params"], params)
    assert max(jax.tree.leaves(moved)) > 1e-4
    # Evaluation and export see the collapsed network of the trained expanded weights.
    trained = nnx.merge(graphdef, state["params"])
    evaluated = spec.loaded(trained)
    spec.export(tmp_path / "export", trained)
    exported = models.load(tmp_path / "export")
    for a, b in zip(jax.tree.leaves(evaluated.params), jax.tree.leaves(exported.params), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    x = jnp.asarray(_image((1, 8, 8, 3), seed=13))
    _close(exported(x), trained(x))
