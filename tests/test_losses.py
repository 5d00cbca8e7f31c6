"""Student losses: closed-form values, per-sample weights, the combined loss and its metrics."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsharp import losses


def _batch(b=3, h=4, w=5, seed=0):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.random((b, h, w, 3), dtype=np.float32))


def test_l1_and_mse_of_a_constant_offset():
    target = _batch()
    pred = target + 0.25
    assert float(losses.pixel_loss(pred, target, "l1")) == pytest.approx(0.25, abs=1e-6)
    assert float(losses.pixel_loss(pred, target, "mse")) == pytest.approx(0.0625, abs=1e-6)
    assert float(losses.distill_loss(target - 0.5, target, "l1")) == pytest.approx(0.5, abs=1e-6)
    with pytest.raises(ValueError, match="unknown loss kind"):
        losses.pixel_loss(pred, target, "ssim")
    with pytest.raises(ValueError, match="shapes differ"):
        losses.pixel_loss(pred[:, :2], target)


def test_weights_mask_samples_and_average_over_the_weighted_ones():
    target = _batch()
    offsets = jnp.asarray([0.1, 0.2, 0.6])[:, None, None, None]
    pred = target + offsets
    assert float(losses.pixel_loss(pred, target, weights=jnp.asarray([1.0, 1.0, 0.0]))) == pytest.approx(0.15, abs=1e-6)
    assert float(losses.pixel_loss(pred, target, weights=jnp.asarray([0.0, 0.0, 1.0]))) == pytest.approx(0.6, abs=1e-6)
    assert float(losses.pixel_loss(pred, target, weights=jnp.asarray([0.0, 0.0, 0.0]))) == 0.0  # absent, not NaN
    assert float(losses.pixel_loss(pred, target)) == pytest.approx(0.3, abs=1e-6)
    with pytest.raises(ValueError, match="one per sample"):
        losses.pixel_loss(pred, target, weights=jnp.ones(2))


def test_student_loss_combines_terms_by_their_weights():
    target = _batch()
    teacher = target + 0.5
    pred = target + jnp.asarray([0.1, 0.2, 0.3])[:, None, None, None]
    batch = {"target": target, "teacher": teacher, "target_weight": jnp.asarray([1.0, 0.0, 1.0]),
             "teacher_weight": jnp.asarray([0.0, 1.0, 1.0])}
    loss, metrics = losses.student_loss(pred, batch, pixel_kind="l1", distill_kind="mse", distill_lambda=2.0)
    pixel = (0.1 + 0.3) / 2  # samples 0 and 2 have ground truth
    distill = ((0.5 - 0.2) ** 2 + (0.5 - 0.3) ** 2) / 2  # samples 1 and 2 have teacher outputs
    assert float(metrics["pixel_loss"]) == pytest.approx(pixel, abs=1e-6)
    assert float(metrics["distill_loss"]) == pytest.approx(distill, abs=1e-6)
    assert float(loss) == float(metrics["loss"]) == pytest.approx(pixel + 2.0 * distill, abs=1e-6)
    # PSNR over the samples with ground truth: MSE (0.01 + 0.09) / 2, pred clipped to [0, 1] first.
    clipped = jnp.clip(pred, 0.0, 1.0)
    mse = (float(jnp.mean((clipped[0] - target[0]) ** 2)) + float(jnp.mean((clipped[2] - target[2]) ** 2))) / 2
    assert float(metrics["psnr_rgb"]) == pytest.approx(-10 * np.log10(mse), abs=1e-3)


def test_teacher_output_gets_no_gradient_and_a_teacherless_batch_has_no_distill_term():
    target = _batch()
    pred = target + 0.1

    def total(pred, teacher):
        return losses.student_loss(pred, {"target": target, "teacher": teacher}, distill_lambda=1.0)[0]

    grad_teacher = jax.grad(total, argnums=1)(pred, target + 0.3)
    assert float(jnp.abs(grad_teacher).max()) == 0.0
    loss, metrics = losses.student_loss(pred, {"target": target}, distill_lambda=0.0)
    assert set(metrics) == {"loss", "pixel_loss", "psnr_rgb"}
    assert float(loss) == pytest.approx(0.1, abs=1e-6)
    # Clipping at 1 shortens the offset where target > 0.9: the error there is 1 - target, not 0.1.
    error = np.minimum(0.1, 1.0 - np.asarray(target, np.float64))
    assert float(metrics["psnr_rgb"]) == pytest.approx(-10 * np.log10(np.mean(error**2)), abs=1e-3)
    with pytest.raises(ValueError, match="no 'teacher'"):
        losses.student_loss(pred, {"target": target}, distill_lambda=0.5)


def test_psnr_is_nan_without_any_ground_truth_and_the_loss_stays_finite():
    target = _batch()
    batch = {"target": target, "teacher": target, "target_weight": jnp.zeros(3), "teacher_weight": jnp.ones(3)}
    loss, metrics = jax.jit(lambda p, b: losses.student_loss(p, b, distill_lambda=1.0))(target + 0.1, batch)
    assert np.isnan(float(metrics["psnr_rgb"]))
    assert float(loss) == pytest.approx(0.1, abs=1e-6)


def test_inversion_consistency_is_zero_for_an_inversion_equivariant_student_and_l1_otherwise():
    rng = np.random.default_rng(3)
    teacher = jnp.asarray(rng.uniform(0, 1, (2, 4, 4, 3)), jnp.float32)
    # A student whose output for 1 - x is 1 - T(x) agrees with the teacher under the inversion: no loss.
    assert float(losses.inversion_consistency_loss(1.0 - teacher, teacher)) == pytest.approx(0.0, abs=1e-7)
    # S(1 - x) = 1 - T(x) - d: inverted back it is T(x) + d, an L1 of |d| per pixel (MSE d^2).
    assert float(losses.inversion_consistency_loss(1.0 - teacher - 0.1, teacher)) == pytest.approx(0.1, abs=1e-6)
    assert float(losses.inversion_consistency_loss(1.0 - teacher - 0.1, teacher, "mse")) == pytest.approx(
        0.01, abs=1e-6)
    # Weighted like the distillation term: a sample without a teacher output adds nothing.
    pred = jnp.concatenate([1.0 - teacher[:1], 1.0 - teacher[1:] - 0.3])
    assert float(losses.inversion_consistency_loss(pred, teacher, weights=jnp.array([1.0, 0.0]))) == pytest.approx(
        0.0, abs=1e-7)
    grad = jax.grad(lambda t: losses.inversion_consistency_loss(pred, t))(teacher)
    assert not np.any(np.asarray(grad))  # the teacher is data


def test_spatial_affinity_closed_forms_and_fakd_ignores_width_and_per_position_scale():
    # Every position the same vector: all cosines 1. One-hot positions: the identity.
    same = jnp.ones((1, 2, 2, 3))
    np.testing.assert_allclose(np.asarray(losses.spatial_affinity(same)), np.ones((1, 4, 4)), atol=1e-6)
    onehot = jnp.eye(4).reshape(1, 2, 2, 4)
    np.testing.assert_allclose(np.asarray(losses.spatial_affinity(onehot)), np.eye(4)[None], atol=1e-6)
    # Pooling 2x2 averages the four positions into one: a 1x1 affinity of 1.
    assert losses.spatial_affinity(onehot, pool=2).shape == (1, 1, 1)

    rng = np.random.default_rng(0)
    student = jnp.asarray(rng.normal(size=(2, 4, 4, 5)), jnp.float32)
    # A teacher with more channels (zeros appended) and each position scaled by its own positive factor has the
    # same affinity: the loss is zero, whatever the widths.
    scale = jnp.asarray(rng.uniform(0.5, 2.0, (2, 4, 4, 1)), jnp.float32)
    teacher = jnp.concatenate([student * scale, jnp.zeros((2, 4, 4, 3))], axis=-1)
    assert float(losses.feature_affinity_loss(student, teacher)) == pytest.approx(0.0, abs=1e-6)
    other = jnp.asarray(rng.normal(size=(2, 4, 4, 8)), jnp.float32)
    value = float(losses.feature_affinity_loss(student, other))
    expected = np.mean(np.abs(np.asarray(losses.spatial_affinity(student) - losses.spatial_affinity(other))))
    assert value == pytest.approx(expected, rel=1e-6) and value > 0.05
    grad = jax.grad(lambda t: losses.feature_affinity_loss(student, t))(other)
    assert not np.any(np.asarray(grad))
    with pytest.raises(ValueError, match="differ in batch or spatial size"):
        losses.feature_affinity_loss(student, other[:, :2])
