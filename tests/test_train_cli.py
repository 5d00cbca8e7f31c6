"""Trainer command line: a bad config file, override or value ends `python -m jaxsharp.train` in one `error:` line on
stderr naming the key (or file) and what is allowed, a non-zero exit and no traceback, before any JAX work (no run
directory is made; each run is interpreter start-up plus imports)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIG = REPO / "tests" / "configs" / "student_tiny.py"

# (arguments after --accelerator cpu --workdir DIR, words the error line must hold). Without a --config of their
# own the arguments follow `--config CONFIG`.
CASES = {
    "steps_below_1": (["--config.steps=-5"], ["steps", ">= 1", "-5"]),
    "unknown_key": (["--config.batch_size=0"], ["--config.batch_size", "no such key", "data.batch_size"]),
    "unknown_nested_key": (["--config.optim.nosuch=1"], ["--config.optim.nosuch", "config.optim has", "grad_clip, lr, milestones"]),
    "int_not_int": (["--config.steps=abc"], ["--config.steps", "'abc'", "not an int"]),
    "float_not_float": (["--config.optim.lr=fast"], ["--config.optim.lr", "'fast'", "not a float"]),
    "model_kind": (["--config.model.kind=nosuch"], ["model.kind", "'nosuch'", "student", "swinir"]),
    "schedule": (["--config.optim.schedule=nosuch"], ["optim.schedule", "constant", "cosine", "multistep"]),
    "pixel_kind": (["--config.loss.pixel_kind=nosuch"], ["loss.pixel_kind", "l1", "mse"]),
    "degradation": (["--config.data.degradation=nosuch"], ["data.degradation", "bicubic"]),
    "data_source": (["--config.data.source=nosuch"], ["data.source", "folders", "div2k"]),
    "student_size": (["--config.model.student.size=huge"], ["model.student.size", "'huge'", "tiny", "small"]),
    "missing_config_file": (["--config", "no/such_config.py"], ["--config", "no/such_config.py", "no such file"]),
    "config_file_raises": (["--config", "{raising}"], ["--config", "RuntimeError at line 5", "broken on purpose"]),
}


@pytest.mark.parametrize("args, words", CASES.values(), ids=CASES.keys())
def test_bad_config_is_one_error_line_before_any_work(tmp_path, args, words):
    raising = tmp_path / "raising_config.py"
    raising.write_text("from jaxsharp.configs import common\n\n\ndef get_config():\n"
                       "    raise RuntimeError('broken on purpose')\n")
    args = [a.format(raising=raising) for a in args]
    if "--config" not in args:
        args = ["--config", str(CONFIG), *args]
    workdir = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(REPO), JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    proc = subprocess.run([sys.executable, "-m", "jaxsharp.train", "--accelerator", "cpu", "--workdir", str(workdir),
                           *args], capture_output=True, text=True, timeout=120, cwd=REPO, env=env)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]
    assert [w for w in words if w not in lines[0]] == [], lines[0]
    assert not workdir.exists()  # stopped before train_and_evaluate made anything
