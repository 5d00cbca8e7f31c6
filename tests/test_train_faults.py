"""Training faults and memory: what a kill, a damaged checkpoint or a full disk leaves, and peak memory of a big image.

- SIGKILL at 5 seeded random steps, each followed by the same command, ends with the parameters of an uninterrupted
  run, bit for bit (slow; test_train.py has the single kill in the default suite).
- Half-written step directories (a truncated array file, an empty step, a step missing its state) are skipped with
  a warning and moved aside; the run resumes from the newest complete step and ends where the uninterrupted run
  does. When no step restores (a changed config does this too), that is an error and nothing is moved.
- A full disk during a checkpoint write (an ENOSPC from the writer, mid-file) ends the trainer with one line naming
  the last complete checkpoint, which the same command then resumes from. With a real tmpfs too (slow; needs
  permission to mount).
- A full disk while writing shipped weights (student.save, teacher.save, atomic.write_file) leaves the old ones.
- An 8000x6000 image through `jaxsharp sharpen` stays under 4 GiB peak RSS (slow; experiments/memory_8000x6000.py).

The runs are test_train.py's: the tiny student on 16-px crops of four 40x36 images, a few steps.
"""

from __future__ import annotations

import errno
import os
import pathlib
import runpy
import shutil
import subprocess
import sys

import numpy as np
import pytest
# test_train's runs and fixtures (imported fixtures are this module's own instances).
from test_train import (CONFIG, REPO, STEPS, _cli_args, _config, _env, _exported, _max_abs_diff, _train_cli,
                        overrides, reference_run, tiny_data)  # noqa: F401

from jaxsharp import checkpoint, plot_training, train_lib

ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

# Runs the trainer's command line with every file opened for writing under a directory whose path contains argv[1]
# (through etils.epath, orbax's and grain's Python-level writer) failing with ENOSPC after half its first write.
FULL_DISK_CLI = r"""
import errno, os, sys
from etils.epath import gpath

marker = sys.argv.pop(1)
real_open = gpath._GPath.open


class FullDisk:
    def __init__(self, f, path):
        self._f, self._path = f, path

    def write(self, data):
        self._f.write(data[: len(data) // 2])
        self._f.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self._path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()

    def __getattr__(self, name):
        return getattr(self._f, name)


def open_(self, mode="r", *args, **kwargs):
    f = real_open(self, mode, *args, **kwargs)
    return FullDisk(f, str(self)) if ("w" in mode or "a" in mode) and marker in str(self) else f


gpath._GPath.open = open_
from absl import app
from jaxsharp import train
sys.argv[0] = "jaxsharp.train"
app.run(train.main)
"""


def _checkpoint_names(workdir) -> list[str]:
    return sorted(p.name for p in (pathlib.Path(workdir) / "checkpoints").iterdir())


def _copy_run(src, dst) -> pathlib.Path:
    """A copy of a finished run's workdir without its export: what a run that stopped early leaves."""
    shutil.copytree(src, dst)
    shutil.rmtree(dst / "export")
    return dst


# ----------------------------------------------------------------------------------------------------------------
# Half-written step directories


# Reading a truncated array file fails inside tensorstore, whose callbacks then find orbax's event loop closed.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_half_written_steps_are_skipped_with_a_warning(tmp_path, overrides, reference_run, capsys):
    ref_workdir, ref_result = reference_run
    workdir = _copy_run(ref_workdir, tmp_path / "run")
    ckpt = workdir / "checkpoints"
    assert _checkpoint_names(workdir) == ["2", "4", "6"]
    # Step 6: its array data cut short (a copy interrupted, or a filesystem without atomic renames).
    for f in (ckpt / "6" / "state").rglob("*"):
        if f.is_file() and f.parent.name == "d":
            os.truncate(f, 10)
    (ckpt / "8").mkdir()  # a step directory with nothing in it
    shutil.copytree(ckpt / "4", ckpt / "10")
    shutil.rmtree(ckpt / "10" / "state")  # a step missing its train state
    (ckpt / "12.orbax-checkpoint-tmp-7").mkdir()  # orbax's temporary, as a kill mid-save leaves it

    result = train_lib.train_and_evaluate(_config(overrides), workdir)
    captured = capsys.readouterr()
    err = captured.err + captured.out
    for step in (6, 8, 10):
        assert (f"warning: checkpoint step {step} in {ckpt} is incomplete or unreadable" in err
                and f"moved to {step}.unreadable, resuming from step 4" in err), err[-3000:]
    assert set(_checkpoint_names(workdir)) == {"2", "4", "6", "6.unreadable", "8.unreadable", "10.unreadable"}
    # Resumed from 4, the rerun of steps 5 and 6 gives the uninterrupted run's parameters exactly.
    assert result.step == STEPS
    assert _max_abs_diff(result.params, ref_result.params) == 0.0


def test_no_restorable_step_is_an_error_and_moves_nothing(tmp_path, overrides, reference_run):
    ref_workdir, _ = reference_run
    workdir = _copy_run(ref_workdir, tmp_path / "run")
    for step in ("2", "4"):
        shutil.rmtree(workdir / "checkpoints" / step)
    shutil.rmtree(workdir / "checkpoints" / "6" / "state")
    with pytest.raises(checkpoint.CheckpointRestoreError,
                       match=r"checkpoint step 6 in .* cannot be restored: KeyError: .*Item \"state\" was not found"):
        train_lib.train_and_evaluate(_config(overrides), workdir)
    assert _checkpoint_names(workdir) == ["6"]


# ----------------------------------------------------------------------------------------------------------------
# A full disk


def test_full_disk_during_a_checkpoint_is_one_line_and_the_last_checkpoint_resumes(tmp_path, overrides,
                                                                                     reference_run):
    workdir = tmp_path / "run"
    args = [sys.executable, "-c", FULL_DISK_CLI, f"{os.sep}4.orbax-checkpoint-tmp", "--config", str(CONFIG),
            "--workdir", str(workdir), *_cli_args(overrides)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=REPO, env=_env())
    assert proc.returncode == 1, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if "step/s" not in line]  # tqdm's bar
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert lines[-1].startswith("error: writing a checkpoint failed (OSError: [Errno 28] No space left on device"), \
        lines[-1]
    assert lines[-1].endswith(f"Last complete checkpoint: step 2 in {workdir / 'checkpoints'}; the same command "
                              "resumes from it once the cause is fixed")
    assert "2" in _checkpoint_names(workdir) and "4" not in _checkpoint_names(workdir)
    assert not (workdir / "export").exists()

    # Space again: the same run resumes from step 2 and ends with the uninterrupted run's parameters.
    result = train_lib.train_and_evaluate(_config(overrides), workdir)
    assert _max_abs_diff(result.params, reference_run[1].params) == 0.0
    assert all(".orbax-checkpoint-tmp" not in name for name in _checkpoint_names(workdir))


@pytest.mark.slow
def test_full_tmpfs_during_a_checkpoint(tmp_path, overrides):
    """A real full disk: tensorstore's own writes fail (RESOURCE_EXHAUSTED), not only Python's."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    # 400 KiB holds two of these checkpoints (~140 KB each) and metrics.csv, not a third.
    probe = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {probe.stderr.decode().strip()}")
    try:
        workdir = mount / "run"
        proc = _train_cli(workdir, {**overrides, "steps": 10})
        assert proc.returncode == 1, proc.stderr[-3000:]
        last = proc.stderr.strip().splitlines()[-1]
        assert last.startswith("error: writing a checkpoint failed (ValueError: RESOURCE_EXHAUSTED"), last
        complete = [int(n) for n in _checkpoint_names(workdir) if n.isdigit()]
        assert complete and f"Last complete checkpoint: step {max(complete)} in" in last

        subprocess.run(["mount", "-o", "remount,size=8m", str(mount)], check=True)
        resumed = _train_cli(workdir, {**overrides, "steps": 10})
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert f"resuming from step {max(complete)}" in resumed.stdout
    finally:
        subprocess.run(["umount", str(mount)], check=False)


class _FullDiskFile:
    """A file object whose first write stores half the data and then fails as a full disk does."""

    def __init__(self, f):
        self._f = f

    def write(self, data):
        self._f.write(data[: len(data) // 2])
        raise ENOSPC

    def __getattr__(self, name):
        return getattr(self._f, name)


def _leftovers(folder: pathlib.Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_full_disk_keeps_the_old_file(tmp_path):
    from jaxsharp import atomic

    path = atomic.write_text(tmp_path / "result.json", '{"old": true}\n')
    with pytest.raises(OSError, match="No space left"):
        atomic.write_file(path, lambda f: _FullDiskFile(f).write(b'{"new": true, "padding": "' + b"x" * 4096))
    assert path.read_text() == '{"old": true}\n'
    assert _leftovers(tmp_path) == []


def test_full_disk_keeps_the_old_student(tmp_path, monkeypatch):
    from flax import nnx

    from jaxsharp import student

    config = student.StudentConfig.from_size("tiny", scale=2, mode="sharpen")
    old = student.build(config, rngs=nnx.Rngs(0))
    student.save(tmp_path / "s", old, config)
    before = checkpoint.flat_params(old)

    real_savez = np.savez
    monkeypatch.setattr(np, "savez", lambda f, **arrays: real_savez(_FullDiskFile(f), **arrays))
    with pytest.raises(OSError, match="No space left"):
        student.save(tmp_path / "s", student.build(config, rngs=nnx.Rngs(1)), config, overwrite=True)
    monkeypatch.undo()

    loaded = student.load(tmp_path / "s")
    after = checkpoint.flat_state(loaded.params)
    assert _max_abs_diff(after, before) == 0.0
    assert _leftovers(tmp_path) == []


def test_full_disk_keeps_the_old_teacher(tmp_path, monkeypatch, shared_data):
    from jaxsharp import teacher
    from jaxsharp.port.swinir_torch import load_teacher

    model = load_teacher(shared_data / "reference" / "swinir" / "tiny_classical_x2_weights.npz")
    flat = checkpoint.flat_state(model.params)
    teacher.save(tmp_path / "t", model.config, flat)

    # The params (orbax) are written whole, then config.json meets the full disk.
    real_write_text = pathlib.Path.write_text

    def write_text(self, *args, **kwargs):
        if self.name == "config.json":
            raise ENOSPC
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", write_text)
    with pytest.raises(OSError, match="No space left"):
        teacher.save(tmp_path / "t", model.config, {k: v + 1 for k, v in flat.items()}, overwrite=True)
    monkeypatch.undo()

    assert _max_abs_diff(checkpoint.flat_state(teacher.load(tmp_path / "t").params), flat) == 0.0
    assert _leftovers(tmp_path) == []


# ----------------------------------------------------------------------------------------------------------------
# Slow: the SIGKILL soak and the 8000x6000 memory figure

SOAK_STEPS = 20
SOAK_KILLS = 5
SOAK_SEED = 0


@pytest.mark.slow
def test_five_sigkills_at_random_steps_resume_to_the_uninterrupted_parameters(tmp_path, overrides):
    # A checkpoint every step: a kill after step k then usually lands while step k-1 is still being written (the
    # save is asynchronous), so the soak also crosses kills in the middle of a save.
    soak = {**overrides, "steps": SOAK_STEPS, "checkpoint_every": 1}
    reference = train_lib.train_and_evaluate(_config(soak), tmp_path / "reference").params
    kills = sorted(int(k) for k in np.random.default_rng(SOAK_SEED).choice(np.arange(2, SOAK_STEPS), SOAK_KILLS,
                                                                        replace=False))
    workdir = tmp_path / "run"
    for kill in kills:
        proc = _train_cli(workdir, soak, f"--config.debug_sigkill_at_step={kill}")
        assert proc.returncode == -9, (kill, proc.stderr[-3000:])
        assert not (workdir / "export").exists()
    final = _train_cli(workdir, soak)
    assert final.returncode == 0, final.stderr[-3000:]
    assert "resuming from step" in final.stdout
    params = _exported(workdir)
    # Exact: the step's randomness is a function of (seed, step), the data iterator is restored with the model and
    # each process compiles the same program for the same CPU, so nothing may differ, not even rounding.
    assert _max_abs_diff(params, reference) == 0.0, kills
    rows = plot_training.read_metrics(workdir / "metrics.csv")
    ref_rows = plot_training.read_metrics(tmp_path / "reference" / "metrics.csv")
    assert rows[("train", "loss")] == ref_rows[("train", "loss")]


@pytest.mark.slow
def test_sharpening_8000x6000_stays_under_4_gib(tmp_path):
    experiment = runpy.run_path(str(REPO / "experiments" / "memory_8000x6000.py"))
    result = experiment["measure"](tmp_path)
    print(f"peak RSS {result['peak_rss_gib']:.2f} GiB, {result['wall_s']:.0f} s wall: {result['command']}")  # -s
    assert result["output_size"] == (8000, 6000)
    assert result["peak_rss_bytes"] < experiment["LIMIT_BYTES"], result
