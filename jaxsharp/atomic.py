"""Atomic writes: a file or a directory appears complete under its final name, or not at all.

Everything the project writes for users to keep (images, JSON results, model directories, caches) goes through
here, so a crash, a kill or a full disk mid-write leaves the previous version (or nothing), never half a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import tempfile
from typing import BinaryIO, Callable, Iterator


def write_file(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> pathlib.Path:
    """Calls `write(f)` on a temporary file beside `path`, fsyncs it, then renames it to `path`."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; these are ordinary output files
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def write_text(path: str | os.PathLike, text: str) -> pathlib.Path:
    return write_file(path, lambda f: f.write(text.encode()))


def write_json(path: str | os.PathLike, data, **dump_kwargs) -> pathlib.Path:
    """JSON (indent 2 unless given) written atomically; serialisation errors happen before any file exists."""
    text = json.dumps(data, **{"indent": 2, **dump_kwargs}) + "\n"
    return write_text(path, text)


@contextlib.contextmanager
def directory(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[pathlib.Path]:
    """Yields a temporary directory to fill; on success it replaces `path` in one rename.

    An existing `path` is refused unless overwrite=True; on an exception the temporary directory is removed and
    `path` is left as it was.
    """
    path = pathlib.Path(path).resolve()
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already exists (pass overwrite=True to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the result is an ordinary directory
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
