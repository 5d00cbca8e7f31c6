"""Experiment configs: `common.get_config()` holds every field with its default and meaning; each published config
(experiments/*.py) and each test config (tests/configs/*.py) is a flat file of `common.get_config()` plus its own
overrides. `load_config` reads a config file with `--config.KEY=VALUE` overrides exactly as `python -m
jaxsharp.train` does (the same ml_collections config flag, through `parse_flags`), for scripts that need the config
in-process. A config file or an override that cannot be read is a `ConfigError`, one line naming the file or key
and what is allowed (the nearest valid keys for an unknown one); values are checked by `train_lib.validate_config`.
"""

from __future__ import annotations

import difflib
import importlib.machinery
import importlib.util
import os
import re
import traceback

import ml_collections
from absl import flags
from ml_collections import config_flags

_NAME = "config"  # the flag: --config FILE, --config.KEY=VALUE


class ConfigError(ValueError):
    """A config file or `--config.KEY=VALUE` override that cannot be read; the message is one line for the user."""


def define_config_flag(flag_values: flags.FlagValues = flags.FLAGS, *, sys_argv: list[str] | None = None):
    """The trainer's --config flag: a config file whose fields `--config.KEY=VALUE` overrides (type-checked against
    the field's default; the overrides are read from `sys_argv`, default sys.argv). Parse with `parse_flags`."""
    return config_flags.DEFINE_config_file(_NAME, None, "experiment config file (experiments/*.py)",
                                           flag_values=flag_values, lock_config=True, sys_argv=sys_argv)


def parse_flags(flag_values: flags.FlagValues, argv: list[str]) -> list[str]:
    """`flag_values(argv)` (argv[0]: the program), returning what absl returns: argv[0] and the positional arguments.

    Raises ConfigError, one line, for every failure of the parse: a missing config file, one that raises (the
    exception and its line), an unknown override key (the nearest valid keys, else the keys of its section), a value
    of the wrong type (the field's type and its value in the file), and absl's own flag errors.
    """
    argument = _config_argument(argv)
    if argument is not None:
        path = argument.split(":", 1)[0]  # ml_collections: FILE:ARG calls get_config(ARG)
        if not os.path.isfile(path):
            raise ConfigError(f"--config {path}: {'not a file' if os.path.exists(path) else 'no such file'}")
    try:
        rest = flag_values(argv)
    except Exception as e:  # a config file may raise anything; ml_collections' unknown key is an AttributeError
        raise ConfigError(_explain(e, argv, argument)) from e
    if argument is not None:
        try:  # ml_collections defers an unreadable file's error to the first use of the config
            getattr(flag_values[_NAME].value, "keys")
        except OSError as e:
            raise ConfigError(f"--config {argument}: {_one_line(str(e))}") from e
    return rest


def load_config(path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = ()) -> ml_collections.ConfigDict:
    """The config of `python -m jaxsharp.train --config PATH OVERRIDES...`: overrides are "--config.KEY=VALUE".

    Raises ConfigError as the trainer reports it (see `parse_flags`).
    """
    bad = [o for o in overrides if not o.startswith("--config.")]
    if bad:
        raise ValueError(f"not --config.KEY=VALUE overrides: {bad}")
    argv = ["load_config", "--config", os.fspath(path), *overrides]
    flag_values = flags.FlagValues()
    holder = define_config_flag(flag_values, sys_argv=argv)
    parse_flags(flag_values, argv)
    return holder.value


def _unknown_key(config: ml_collections.ConfigDict, key: str) -> str | None:
    """None when `key` ("optim.lr") names a field of `config`; else what is wrong, with the nearest valid keys (or,
    when none is near, the keys of the section it stops in)."""
    node, walked = config, []
    for part in key.split("."):
        if isinstance(node, ml_collections.ConfigDict) and part in node:
            node = node[part]
            walked.append(part)
            continue
        if walked and not isinstance(node, ml_collections.ConfigDict):
            return f"no such key: config.{'.'.join(walked)} is {_a(type(node).__name__)}, not a section"
        near = _nearest_keys(config, key)
        if near:
            return f"no such key; did you mean {' or '.join(near)}?"
        section = f"config.{'.'.join(walked)}" if walked else "the config"
        return f"no such key; {section} has {', '.join(sorted(node))}"
    return None


def _nearest_keys(config: ml_collections.ConfigDict, key: str, n: int = 3) -> list[str]:
    """Valid leaf keys near `key`: the same last name in another section first (batch_size -> data.batch_size), then
    difflib's closest full keys and closest last names."""
    flat = sorted(_leaf_keys(config))
    leaf = key.rsplit(".", 1)[-1]
    leaves = {k.rsplit(".", 1)[-1] for k in flat}
    near_leaves = set(difflib.get_close_matches(leaf, leaves, n=n, cutoff=0.8))
    found = [k for k in flat if k.rsplit(".", 1)[-1] == leaf]
    found += difflib.get_close_matches(key, flat, n=n, cutoff=0.8)
    found += [k for k in flat if k.rsplit(".", 1)[-1] in near_leaves]
    return list(dict.fromkeys(found))[:n]


def _leaf_keys(config: ml_collections.ConfigDict, prefix: str = "") -> list[str]:
    keys = []
    for name, value in config.items():
        if isinstance(value, ml_collections.ConfigDict):
            keys += _leaf_keys(value, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys


def _config_argument(argv: list[str]) -> str | None:
    """The value of --config in argv (ml_collections' rule: `--config=FILE` or `--config FILE`), or None."""
    for i, arg in enumerate(argv):
        m = re.match(rf"^--?{_NAME}(=|$)", arg)
        if m:
            return arg[m.end():] if m.group(1) else (argv[i + 1] if i + 1 < len(argv) else None)
    return None


def _overrides(argv: list[str]) -> list[tuple[str, str | None]]:
    """(KEY, VALUE or None) of each --config.KEY[=VALUE] / --noconfig.KEY in argv."""
    found = []
    for arg in argv:
        m = re.match(rf"^--?(?:no)?{_NAME}\.([^=]+)(?:=(.*))?$", arg, re.DOTALL)
        if m:
            found.append((m.group(1), m.group(2)))
    return found


def _explain(error: Exception, argv: list[str], argument: str | None) -> str:
    """One line for a failed parse: the config file's own error first, then its overrides', then absl's message."""
    if argument is not None:
        try:
            config = _run_config_file(argument)
        except ConfigError as e:
            return str(e)
        except Exception as e:
            return f"--config {argument}: {_raised(e, argument.split(':', 1)[0])}"
        if isinstance(config, ml_collections.ConfigDict):
            for key, _ in _overrides(argv):
                problem = _unknown_key(config, key)
                if problem:
                    return f"--config.{key}: {problem}"
            if isinstance(error, flags.IllegalFlagValueError):
                for key, value in _overrides(argv):
                    if str(error).startswith(f"flag --{_NAME}.{key}="):
                        current = _get(config, key)
                        shown = f"{value!r} is" if value is not None else "the value is"
                        return (f"--config.{key}: {shown} not {_a(type(current).__name__)} (config.{key} is "
                                f"{current!r} in {argument})")
    if isinstance(error, flags.Error):
        return _one_line(str(error))
    return _one_line(f"{type(error).__name__}: {error}")


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _get(config: ml_collections.ConfigDict, key: str):
    for part in key.split("."):
        config = config[part]
    return config


def _run_config_file(argument: str):
    """get_config() of the config file, run afresh (only after a failed parse, to see its own error)."""
    path, *arg = argument.split(":", 1)
    loader = importlib.machinery.SourceFileLoader("_jaxsharp_config_check", path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    if not callable(getattr(module, "get_config", None)):
        raise ConfigError(f"--config {path}: defines no get_config(), so it is not a config file (experiments/*.py "
                          "configs are)")
    return module.get_config(*arg)


def _raised(error: BaseException, path: str) -> str:
    """"ValueError at line 12: message", the line being the config file's deepest frame (or the syntax error's)."""
    target = os.path.abspath(path)
    line = None
    if isinstance(error, SyntaxError) and error.filename and os.path.abspath(error.filename) == target:
        line = error.lineno
    for frame in traceback.extract_tb(error.__traceback__):
        if os.path.abspath(frame.filename) == target:
            line = frame.lineno
    message = error.msg if isinstance(error, SyntaxError) else str(error)
    return _one_line(f"{type(error).__name__}{f' at line {line}' if line else ''}: {message}")


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())
