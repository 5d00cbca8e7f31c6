"""Saving and restoring parameter trees: the only module that imports orbax.

Parameters travel as flat `{"a/b/0/kernel": array}` dicts (the same keys as `flat_params`), stored by orbax as a
nested tree of plain arrays. Restoring reads array data and JSON metadata only; no code from the files is executed.
"""

from __future__ import annotations

import os
import pathlib
from typing import Callable

import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx

SEP = "/"


def flat_param_vars(module: nnx.Module) -> dict[str, nnx.Variable]:
    """The module's nnx.Param variables keyed 'path/to/leaf' (list indices as digits); works on abstract modules."""
    flat = nnx.to_flat_state(nnx.state(module, nnx.Param))
    return {SEP.join(str(k) for k in path): var for path, var in flat}


def flat_state(state: nnx.State) -> dict[str, np.ndarray]:
    """An nnx.State (leaves Variables or plain arrays, e.g. after a device-to-host copy) as a flat dict of numpy
    arrays keyed 'path/to/leaf', the keys `flat_params` and `load_flat_params` use."""
    return {SEP.join(str(k) for k in path): np.asarray(v.get_value() if isinstance(v, nnx.Variable) else v)
            for path, v in nnx.to_flat_state(state)}


def flat_params(module: nnx.Module) -> dict[str, np.ndarray]:
    """The module's parameters as a flat dict of numpy arrays, keyed as `flat_param_vars`."""
    return flat_state(nnx.state(module, nnx.Param))


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


# ----------------------------------------------------------------------------------------------------------------
# Training checkpoints: train state + data iterator position, one orbax step directory each.


class CheckpointWriteError(RuntimeError):
    """Writing a training checkpoint failed (disk full, permissions, ...); the message names the last complete one."""


class CheckpointRestoreError(RuntimeError):
    """No training checkpoint could be restored; the message says why the newest one failed."""


def _reason(e: BaseException) -> str:
    """The first line of the exception at the root of `e`'s chain (orbax wraps tensorstore's, which says what
    happened, in ones that do not), for one-line messages: tensorstore's errors run to dozens of lines."""
    for _ in range(10):
        inner = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
        if inner is None:
            break
        e = inner
    lines = str(e).strip().splitlines()
    text = lines[0] if lines else ""
    return f"{type(e).__name__}: {text[:300]}{'...' if len(text) > 300 else ''}"


def train_checkpoint_manager(directory: str | os.PathLike, *, max_to_keep: int | None) -> ocp.CheckpointManager:
    """A CheckpointManager for `save_train_state` / `restore_train_state` under `directory` (created if missing).

    Each step is written to a temporary directory and renamed when complete, so a run killed mid-save leaves no
    step that `latest_step` would pick up; stale temporaries are removed when the manager opens. Saves are
    asynchronous: arrays are copied to host before `save` returns, files are written in the background.
    """
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True, cleanup_tmp_directories=True,
                                           enable_async_checkpointing=True)
    return ocp.CheckpointManager(pathlib.Path(directory).resolve(), options=options,
                                 item_names=("state", "data"))


def _write_error(manager: ocp.CheckpointManager, e: Exception) -> CheckpointWriteError:
    manager.reload()  # the steps on disk: a failed save may already be listed in memory
    last = manager.latest_step()
    where = f"step {last} in {manager.directory}" if last is not None else f"none in {manager.directory}"
    return CheckpointWriteError(f"writing a checkpoint failed ({_reason(e)}). Last complete checkpoint: {where}; "
                                "the same command resumes from it once the cause is fixed")


def save_train_state(manager: ocp.CheckpointManager, step: int, state, data_iterator) -> None:
    """Saves the train-state pytree of arrays and the grain iterator's position as checkpoint `step`.

    Every process must call it; each writes its own iterator state (process_<i>-of-<n>.json). Files are written in
    the background: a failure (disk full) of this save or of the previous one raises CheckpointWriteError here or
    in `wait_until_finished`; the step being written is then left as a temporary directory, never as a step.
    """
    import grain  # here, not at the top: reading a model's parameters must not pull in the data pipeline

    try:
        # force: the default policy skips a step while the previous save is still being written.
        manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                   data=grain.checkpoint.CheckpointSave(data_iterator)), force=True)
    except Exception as e:  # orbax re-raises what its writer raised: OSError, or tensorstore's ValueError
        raise _write_error(manager, e) from e


def wait_until_finished(manager: ocp.CheckpointManager) -> None:
    """Waits for the background writes of the last save; raises CheckpointWriteError if they failed."""
    try:
        manager.wait_until_finished()
    except Exception as e:
        raise _write_error(manager, e) from e


def close_manager(manager: ocp.CheckpointManager) -> None:
    """Closes the manager's threads. A failed background write was raised by `save_train_state` or
    `wait_until_finished` already; here it would only hide the exception being handled, so it is ignored."""
    try:
        manager.close()
    except Exception:  # noqa: BLE001 -- see the docstring
        pass


def restore_train_state(manager: ocp.CheckpointManager, step: int, abstract_state, data_iterator):
    """Restores checkpoint `step`: returns the state laid out as `abstract_state` (a pytree of
    jax.ShapeDtypeStruct with shardings) and moves `data_iterator` to the saved position in place."""
    import grain

    restored = manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract_state), data=grain.checkpoint.CheckpointRestore(data_iterator)))
    return restored["state"]


def restore_latest_train_state(manager: ocp.CheckpointManager, abstract_state, data_iterator, *,
                               move_aside: bool = True, warn: Callable[[str], None] = print,
                               sync: Callable[[], None] = lambda: None):
    """Restores the newest checkpoint that reads back whole: returns (step, state), or (0, None) if there is none.

    A newer step that fails to restore (a half-written or damaged step directory: a copy cut short, a truncated
    file, a missing item) is skipped with a `warn` message, once an older step has restored with the same
    `abstract_state` (so a failure of every step, e.g. a config that no longer matches, is an error, not a skip).
    The skipped steps are renamed to `<step>.unreadable` (by the process with move_aside=True, between two `sync`
    calls) so that the run can write those steps again. Raises CheckpointRestoreError if no step restores.
    """
    failed: list[tuple[int, Exception]] = []
    for step in sorted(manager.all_steps(), reverse=True):
        try:
            state = restore_train_state(manager, step, abstract_state, data_iterator)
        except Exception as e:  # noqa: BLE001 -- whatever a damaged step raises; judged below
            failed.append((step, e))
            continue
        if failed:
            sync()
            for bad, e in failed:
                path = pathlib.Path(manager.directory) / str(bad)
                aside = path.with_name(f"{bad}.unreadable")
                n = 0
                while aside.exists():
                    n += 1
                    aside = path.with_name(f"{bad}.unreadable.{n}")
                if move_aside:
                    os.replace(path, aside)
                warn(f"warning: checkpoint step {bad} in {manager.directory} is incomplete or unreadable "
                     f"({_reason(e)}); moved to {aside.name}, resuming from step {step}")
            sync()
            manager.reload()
        return step, state
    if failed:
        step, e = failed[0]
        older = f" (and the {len(failed) - 1} older ones)" if len(failed) > 1 else ""
        raise CheckpointRestoreError(f"checkpoint step {step} in {manager.directory}{older} cannot be restored: "
                                     f"{_reason(e)}; a changed config does this too. Move the checkpoints away "
                                     "to start again") from e
    return 0, None
