"""Saving and restoring parameter trees: the only module that imports orbax.

Parameters travel as flat `{"a/b/0/kernel": array}` dicts (the same keys as `flat_params`), stored by orbax as a
nested tree of plain arrays. Restoring reads array data and JSON metadata only; no code from the files is executed.
"""

from __future__ import annotations

import os
import pathlib

import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx

SEP = "/"


def flat_param_vars(module: nnx.Module) -> dict[str, nnx.Variable]:
    """The module's nnx.Param variables keyed 'path/to/leaf' (list indices as digits); works on abstract modules."""
    flat = nnx.to_flat_state(nnx.state(module, nnx.Param))
    return {SEP.join(str(k) for k in path): var for path, var in flat}


def flat_params(module: nnx.Module) -> dict[str, np.ndarray]:
    """The module's parameters as a flat dict of numpy arrays, keyed as `flat_param_vars`."""
    return {key: np.asarray(var.get_value()) for key, var in flat_param_vars(module).items()}


def load_flat_params(module: nnx.Module, flat: dict[str, np.ndarray], *, source: str = "params") -> None:
    """Fills every nnx.Param of `module` from `flat`; every key must be used and every shape must match.

    `module` may be abstract (from `nnx.eval_shape`): building a model that way skips random initialisation.
    """
    targets = flat_param_vars(module)
    missing = sorted(set(targets) - set(flat))
    unexpected = sorted(set(flat) - set(targets))
    if missing or unexpected:
        raise ValueError(f"{source}: parameters do not match the model: missing {missing[:5]}"
                         f"{'...' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}"
                         f"{'...' if len(unexpected) > 5 else ''}")
    for key, var in targets.items():
        value, current = np.asarray(flat[key]), var.get_value()
        if value.shape != current.shape:
            raise ValueError(f"{source}: {key} has shape {value.shape}, the model expects {current.shape}")
        var.set_value(jnp.asarray(value, current.dtype))


def _nest(flat: dict[str, np.ndarray]) -> dict:
    tree: dict = {}
    for key, value in flat.items():
        node = tree
        *parents, leaf = key.split(SEP)
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = np.asarray(value)
    return tree


def _flatten(tree: dict, prefix: str = "") -> dict[str, np.ndarray]:
    out = {}
    for k, v in tree.items():
        key = f"{prefix}{SEP}{k}" if prefix else str(k)
        out.update(_flatten(v, key) if isinstance(v, dict) else {key: np.asarray(v)})
    return out


def save_params(directory: str | os.PathLike, flat: dict[str, np.ndarray]) -> pathlib.Path:
    """Writes `flat` to `directory` (must not exist); orbax writes to a temporary name and renames at the end."""
    directory = pathlib.Path(directory).resolve()
    with ocp.StandardCheckpointer() as ckptr:
        ckptr.save(directory, _nest(flat))
    return directory


def restore_params(directory: str | os.PathLike) -> dict[str, np.ndarray]:
    """Reads a tree written by `save_params` back as a flat dict of numpy arrays."""
    directory = pathlib.Path(directory).resolve()
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such checkpoint directory")
    with ocp.StandardCheckpointer() as ckptr:
        tree = ckptr.restore(directory)
    return _flatten(tree)
