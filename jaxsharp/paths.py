"""Where files named in configs and flags are found: the shared data root and the repository.

    data_root()               # $JAXSHARP_DATA if set, else ../shared/data beside the repository
    data_path("train/T91")    # a shared-data path from a config: under data_root()
    repo_path("runs/x/export")  # weights and run outputs from a config: relative to the repository

The rule, so that a config means the same files from any working directory:
- absolute paths (and ~) are used as they are, everywhere;
- shared-data fields (`data.train_dirs`, `eval.data_root`) are relative to the data root, except a path that starts
  with "./" or "../", which is relative to the repository (what every config path meant before the data root:
  "../shared/data/train/T91" still names the same folder, "./runs/fake_train" a folder inside the repository);
- weight and output fields (`loss.teacher`, `loss.teacher_cache_dir`, --workdir's runs/...) are relative to the
  repository, as before.
The commands that read shared data take `--data-root DIR`, which wins over $JAXSHARP_DATA for that run.
"""

from __future__ import annotations

import os
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[1]
DATA_ENV = "JAXSHARP_DATA"


def data_root() -> pathlib.Path:
    """The folder holding train/, benchmarks/, categories/ and reference/ (MANIFEST.md): $JAXSHARP_DATA, else the
    `shared/data` folder beside the repository. Read at each call, so a flag that sets the variable reaches it."""
    env = os.environ.get(DATA_ENV)
    if env:
        return pathlib.Path(env).expanduser().resolve()
    return REPO.parent / "shared" / "data"


def repo_path(path: str | os.PathLike) -> pathlib.Path:
    """A weights or output path from a config: absolute as is, else relative to the repository."""
    p = pathlib.Path(path).expanduser()
    return p if p.is_absolute() else (REPO / p).resolve()


def data_path(path: str | os.PathLike) -> pathlib.Path:
    """A shared-data path from a config: absolute as is; "./..." and "../..." relative to the repository; any
    other relative path under data_root()."""
    text = os.fspath(path)
    p = pathlib.Path(text).expanduser()
    if p.is_absolute():
        return p
    if text.replace("\\", "/").startswith(("./", "../")):
        return (REPO / p).resolve()
    return (data_root() / p).resolve()
