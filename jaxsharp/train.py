"""Trains a model described by an experiment config.

    python -m jaxsharp.train --config experiments/student_small_x2.py [--accelerator cpu|gpu|tpu]
        [--workdir DIR] [--data-root DIR] [--config.key=value ...]

--workdir defaults to runs/<config file name>. --data-root (default: $JAXSHARP_DATA, else ../shared/data beside the
repository) is where the config's shared-data paths point (jaxsharp/paths.py). Running the same command again
resumes from the newest checkpoint.
Several processes (one per host): --num_processes N --process_id I --coordinator_address HOST:PORT on each, or the
JAX_NUM_PROCESSES / JAX_PROCESS_ID / JAX_COORDINATOR_ADDRESS environment variables. See jaxsharp/train_lib.py.
"""

from __future__ import annotations

import os
import pathlib

from absl import app, flags, logging
from ml_collections import config_flags

from jaxsharp import configs, mesh, paths


def _accelerator_help() -> str:
    """--accelerator's help: what is installed here, found without starting a backend, and what the rest need."""
    installed = mesh.installed_platforms()
    missing = [f"{name} needs {mesh.NEEDS[name]}" for name in mesh.ACCELERATORS if name not in installed]
    return (f"backend to run on; without --accelerator JAX picks the best available. Detected here (JAX support "
            f"installed): {', '.join(installed)}{'. ' + '; '.join(missing) if missing else ''}. "
            "`python -c 'import jax; print(jax.devices())'` lists the devices JAX starts")


_CONFIG = configs.define_config_flag()
_WORKDIR = flags.DEFINE_string("workdir", None, "run directory (default: runs/<config file name>)")
_ACCELERATOR = flags.DEFINE_enum("accelerator", None, mesh.ACCELERATORS, _accelerator_help())
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "HOST:PORT of process 0, for several processes")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "number of processes (hosts)")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "this process's index, 0 .. num_processes - 1")
_DATA_ROOT = flags.DEFINE_string("data-root", None, f"shared data folder for this run (default: ${paths.DATA_ENV}, "
                                 "else ../shared/data beside the repository)")
flags.mark_flags_as_required(["config"])


def _drop_orbax_tracebacks(record) -> bool:
    if "/orbax/" in record.pathname.replace("\\", "/"):
        record.exc_info = record.exc_text = None
    return True


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise SystemExit(f"error: unexpected arguments: {' '.join(argv[1:])}")
    if _DATA_ROOT.value:
        # Through the environment, so the input workers and anything the run starts see the same root.
        os.environ[paths.DATA_ENV] = str(pathlib.Path(_DATA_ROOT.value).expanduser().resolve())
    if not flags.FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO; -v 0 brings it back
        # A failed background save is logged by each orbax thread with its traceback, then raised to the loop, which
        # reports it in one line; keep orbax's log lines, not the tracebacks (-v 0 brings them back).
        logging.get_absl_handler().addFilter(_drop_orbax_tracebacks)
    try:
        mesh.setup(_ACCELERATOR.value, coordinator_address=_COORDINATOR.value, num_processes=_NUM_PROCESSES.value,
                   process_id=_PROCESS_ID.value)
    except (mesh.AcceleratorUnavailableError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None

    # After setup: importing the model code must not start a backend first.
    from jaxsharp import checkpoint, train_lib

    try:  # before any data is read or anything compiled
        train_lib.validate_config(_CONFIG.value)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    config_path = config_flags.get_config_filename(flags.FLAGS["config"])
    workdir = _WORKDIR.value or str(pathlib.Path("runs") / pathlib.Path(config_path).stem)
    try:
        train_lib.train_and_evaluate(_CONFIG.value, workdir)
    except (train_lib.NonFiniteLossError, checkpoint.CheckpointWriteError, checkpoint.CheckpointRestoreError,
            OSError) as e:  # OSError: a full disk (metrics, export) or a missing file, named in the message
        raise SystemExit(f"error: {e}") from None


def _parse_flags(argv: list[str]) -> list[str]:
    """app.run's flag parse, a bad config file, override or flag ending the run in one `error:` line."""
    try:
        return configs.parse_flags(flags.FLAGS, argv)
    except configs.ConfigError as e:
        raise SystemExit(f"error: {e}") from None


def run(argv: list[str] | None = None, *, prog: str = "python -m jaxsharp.train") -> int:
    """`jaxsharp train ...` and `python -m jaxsharp.train ...`: absl parses the flags (ml_collections'
    --config.key=value among them; it reads those from sys.argv)."""
    import sys

    # absl's --help lists the key flags of the module named sys.argv[0] (the `jaxsharp` script): make them ours.
    for flag in flags.FLAGS.get_key_flags_for_module(sys.modules[__name__]):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    argv = list(sys.argv[1:] if argv is None else argv)
    if {"-h", "--help", "-?"} & set(argv):  # absl's own --help exits 1
        print(f"usage: {prog} --config FILE [--config.KEY=VALUE ...] [flags]\n\n{__doc__.split(chr(10) * 2)[0]}\n")
        print(flags.FLAGS.main_module_help())
        return 0
    app.run(main, argv=[prog, *argv], flags_parser=_parse_flags)
    return 0  # app.run exits itself


if __name__ == "__main__":
    raise SystemExit(run())
