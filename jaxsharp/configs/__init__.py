"""Experiment configs: `common.get_config()` holds every field with its default and meaning; each published config
(experiments/*.py) and each test config (tests/configs/*.py) is a flat file of `common.get_config()` plus its own
overrides. `load_config` reads a config file with `--config.KEY=VALUE` overrides exactly as `python -m
jaxsharp.train` does (the same ml_collections config flag), for scripts that need the config in-process.
"""

from __future__ import annotations

import os

import ml_collections
from absl import flags
from ml_collections import config_flags


def define_config_flag(flag_values: flags.FlagValues = flags.FLAGS, *, sys_argv: list[str] | None = None):
    """The trainer's --config flag: a config file whose fields `--config.KEY=VALUE` overrides (type-checked against
    the field's default; the overrides are read from `sys_argv`, default sys.argv)."""
    return config_flags.DEFINE_config_file("config", None, "experiment config file (experiments/*.py)",
                                           flag_values=flag_values, lock_config=True, sys_argv=sys_argv)


def load_config(path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = ()) -> ml_collections.ConfigDict:
    """The config of `python -m jaxsharp.train --config PATH OVERRIDES...`: overrides are "--config.KEY=VALUE"."""
    bad = [o for o in overrides if not o.startswith("--config.")]
    if bad:
        raise ValueError(f"not --config.KEY=VALUE overrides: {bad}")
    argv = ["load_config", "--config", os.fspath(path), *overrides]
    flag_values = flags.FlagValues()
    holder = define_config_flag(flag_values, sys_argv=argv)
    flag_values(argv)
    return holder.value
