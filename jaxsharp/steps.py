"""Pure training and evaluation steps; `train_lib` jits them once with explicit shardings.

    graphdef, params = split_model(model)
    state = init_train_state(params, tx)                      # {"step", "params", "opt_state"}
    step_fn = make_train_step(graphdef, tx, loss_fn=..., key=jax.random.key(0), psnr_crop_border=2)
    state, metrics = step_fn(state, batch)                    # batch {"input", "target", ...} NHWC float32

The model travels as (graphdef, params): `nnx.merge` rebuilds it inside the traced function, so the step is a
function of arrays only and can be jitted, sharded and donated. The optimizer is plain optax on the parameter
state (the functional form of `nnx.Optimizer`), so its state is an ordinary pytree to shard and checkpoint.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from jaxsharp import losses, metrics as metrics_lib

# (model, batch, key) -> (loss scalar, (prediction NHWC, metrics dict)). `key` serves stochastic layers.
LossFn = Callable[[nnx.Module, dict[str, jax.Array], jax.Array], tuple[jax.Array, tuple[jax.Array, dict]]]
TrainState = dict[str, Any]


def split_model(model: nnx.Module) -> tuple[nnx.GraphDef, nnx.State]:
    """(graphdef, params). Models with state beyond nnx.Param (e.g. BatchNorm statistics) are rejected: the step
    would have to thread that state too, and no jaxsharp model has any."""
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    if jax.tree.leaves(rest):
        names = sorted("/".join(map(str, path)) for path, _ in nnx.to_flat_state(rest))
        raise ValueError(f"the trainer supports models whose only state is nnx.Param; {type(model).__name__} "
                         f"also has {names[:5]}")
    return graphdef, params


def init_train_state(params: nnx.State, tx: optax.GradientTransformation) -> TrainState:
    """The whole training state as one pytree of arrays: what is sharded, donated and checkpointed."""
    return {"step": jnp.zeros((), jnp.int32), "params": params, "opt_state": tx.init(params)}


def make_train_step(graphdef: nnx.GraphDef, tx: optax.GradientTransformation, *, loss_fn: LossFn,
                    key: jax.Array, psnr_crop_border: int, debug_nan_at_step: int | None = None):
    """A pure `train_step(state, batch) -> (state, metrics)`; metrics are scalars (batch means).

    Step numbering: the call taking state["step"] from s - 1 to s is step s; its key is fold_in(key, s).
    debug_nan_at_step: make step s's loss NaN (tests of the non-finite-loss stop); None in real runs.
    """
    def train_step(state: TrainState, batch: dict[str, jax.Array]) -> tuple[TrainState, dict[str, jax.Array]]:
        step = state["step"] + 1
        # A function of (key, step) only, so a resumed run draws exactly what the uninterrupted run drew.
        step_key = jax.random.fold_in(key, step)

        def objective(params):
            loss, (pred, aux) = loss_fn(nnx.merge(graphdef, params), batch, step_key)
            if debug_nan_at_step is not None:
                loss = jnp.where(step == debug_nan_at_step, jnp.nan, loss)
            return loss, (pred, aux)

        (loss, (pred, aux)), grads = jax.value_and_grad(objective, has_aux=True)(state["params"])
        updates, opt_state = tx.update(grads, state["opt_state"], state["params"])
        params = optax.apply_updates(state["params"], updates)
        # Records without ground truth (target_weight 0) are left out, as in the loss; so are crops the model gets
        # exactly right after rounding to 8 bits (a flat sky or a saturated patch: PSNR inf), which made the logged
        # batch mean inf.
        crop_psnr = metrics_lib.psnr_y_batch(pred, batch["target"], crop_border=psnr_crop_border)
        weight = jnp.ones_like(crop_psnr) if batch.get("target_weight") is None else batch["target_weight"]
        finite = jnp.isfinite(crop_psnr)
        psnr = losses.weighted_mean(jnp.where(finite, crop_psnr, 0.0), jnp.where(finite, weight, 0.0))
        out = {**aux, "loss": loss, "psnr_y": psnr, "grad_norm": optax.tree.norm(grads)}
        return {"step": step, "params": params, "opt_state": opt_state}, out

    return train_step
