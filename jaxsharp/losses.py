"""Training losses of the student, pure functions of (prediction, batch) for use inside a jitted step.

    loss = pixel(pred, target) + distill_lambda * distill(pred, teacher)

Each term is a per-sample mean over pixels, then a weighted mean over the samples that have that term
(`target_weight` / `teacher_weight`, [B], 1 when absent): a record with only a teacher output (official teacher
outputs of images without ground truth) has target_weight 0 and feeds only the distillation term; a record without
a teacher output has teacher_weight 0 and feeds only the pixel term. Averaging over the weighted samples (not over B)
keeps each term's scale independent of how a batch happens to mix the two kinds.

The teacher is data here (its cached outputs); it never enters the gradient or the optimizer.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

KINDS = ("l1", "mse")


def per_sample_loss(pred: jax.Array, target: jax.Array, kind: str = "l1") -> jax.Array:
    """Mean absolute ("l1") or squared ("mse") error per sample: [B, H, W, C] x2 -> [B]."""
    if kind not in KINDS:
        raise ValueError(f"unknown loss kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    if pred.shape != target.shape:
        raise ValueError(f"prediction {pred.shape} and target {target.shape} shapes differ")
    diff = pred - target
    err = jnp.abs(diff) if kind == "l1" else diff * diff
    return jnp.mean(err, axis=tuple(range(1, err.ndim)))


def weighted_mean(values: jax.Array, weights: jax.Array | None) -> jax.Array:
    """sum(w * v) / sum(w) over the batch; 0 when every weight is 0 (the term is absent, not NaN)."""
    if weights is None:
        return jnp.mean(values)
    weights = jnp.asarray(weights, values.dtype)
    if weights.shape != values.shape:
        raise ValueError(f"weights have shape {weights.shape}, expected {values.shape} (one per sample)")
    total = jnp.sum(weights)
    return jnp.sum(weights * values) / jnp.where(total > 0, total, 1.0)


def pixel_loss(pred: jax.Array, target: jax.Array, kind: str = "l1", *, weights: jax.Array | None = None) -> jax.Array:
    """Reconstruction loss against the ground truth: scalar; pred, target [B, H, W, 3]; weights [B] or None."""
    return weighted_mean(per_sample_loss(pred, target, kind), weights)


def distill_loss(pred: jax.Array, teacher_out: jax.Array, kind: str = "l1", *,
                 weights: jax.Array | None = None) -> jax.Array:
    """Distillation loss against the (frozen, cached) teacher output, same shapes and reduction as pixel_loss."""
    return weighted_mean(per_sample_loss(pred, jax.lax.stop_gradient(teacher_out), kind), weights)


def inversion_consistency_loss(pred_on_inverted: jax.Array, teacher_out: jax.Array, kind: str = "l1", *,
                               weights: jax.Array | None = None) -> jax.Array:
    """DUKD's label consistency under colour inversion: the student's output for 1 - x, inverted back, against the
    teacher's output for x. pred_on_inverted = S(1 - input); same shapes and reduction as distill_loss."""
    return distill_loss(1.0 - pred_on_inverted, teacher_out, kind, weights=weights)


def spatial_affinity(features: jax.Array, pool: int = 1) -> jax.Array:
    """FAKD's spatial affinity: [B, H, W, C] -> [B, N, N], N = (H / pool) * (W / pool), the cosine similarity of
    every pair of positions' feature vectors after `pool` x `pool` average pooling. Independent of C, so a student
    and a teacher of different widths compare directly."""
    b, h, w, c = features.shape
    if h % pool or w % pool:
        raise ValueError(f"feature map {h}x{w} is not a multiple of the pooling {pool}")
    f = features.reshape(b, h // pool, pool, w // pool, pool, c).mean(axis=(2, 4)).reshape(b, -1, c)
    f = f / jnp.sqrt(jnp.sum(f * f, axis=-1, keepdims=True) + 1e-12)
    return jnp.einsum("bnc,bmc->bnm", f, f)


def feature_affinity_loss(student_features: jax.Array, teacher_features: jax.Array, *, pool: int = 1,
                          weights: jax.Array | None = None) -> jax.Array:
    """FAKD (He et al. 2020): mean |A_student - A_teacher| of the spatial affinities (`spatial_affinity`), per
    sample, then weighted over the batch; the teacher's features get no gradient."""
    if student_features.shape[:3] != teacher_features.shape[:3]:
        raise ValueError(f"student features {student_features.shape} and teacher features "
                         f"{teacher_features.shape} differ in batch or spatial size")
    a_s = spatial_affinity(student_features, pool)
    a_t = spatial_affinity(jax.lax.stop_gradient(teacher_features), pool)
    return weighted_mean(jnp.mean(jnp.abs(a_s - a_t), axis=(1, 2)), weights)


def batch_psnr_rgb(pred: jax.Array, target: jax.Array, weights: jax.Array | None = None) -> jax.Array:
    """PSNR (dB, peak 1) of the batch's mean squared error over RGB, pred clipped to [0, 1].

    Samples weighted by `weights` (those without ground truth left out); NaN when no sample has a target.
    """
    mse = per_sample_loss(jnp.clip(pred, 0.0, 1.0), target, "mse")
    mean = weighted_mean(mse, weights)
    has_target = jnp.ones((), bool) if weights is None else jnp.sum(weights) > 0
    return jnp.where(has_target, -10.0 * jnp.log10(mean), jnp.nan)


def student_loss(pred: jax.Array, batch: dict, *, pixel_kind: str = "l1", distill_kind: str = "l1",
                 distill_lambda: float = 0.0) -> tuple[jax.Array, dict[str, jax.Array]]:
    """(loss, metrics) of one batch. pred [B, H, W, 3] raw student output; batch as the data loader yields it:

    "target" [B, H, W, 3]; optional "teacher" [B, H, W, 3], "target_weight" [B], "teacher_weight" [B].
    metrics: loss, pixel_loss, psnr_rgb (see batch_psnr_rgb), and distill_loss when the batch has a teacher.
    distill_lambda > 0 on a batch without "teacher" is a configuration error and raises (at trace time).
    """
    target_weight = batch.get("target_weight")
    pixel = pixel_loss(pred, batch["target"], pixel_kind, weights=target_weight)
    metrics = {"pixel_loss": pixel, "psnr_rgb": batch_psnr_rgb(pred, batch["target"], target_weight)}
    loss = pixel
    if "teacher" in batch:
        distill = distill_loss(pred, batch["teacher"], distill_kind, weights=batch.get("teacher_weight"))
        metrics["distill_loss"] = distill
        loss = pixel + distill_lambda * distill
    elif distill_lambda:
        raise ValueError(f"distill_lambda={distill_lambda} but the batch has no 'teacher' outputs "
                         "(build the loader with a teacher cache, or set distill_lambda to 0)")
    metrics["loss"] = loss
    return loss, metrics
