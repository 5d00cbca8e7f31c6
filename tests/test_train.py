"""Trainer: a 2-step CLI run end to end; data parallelism (2 devices, 2 processes) computes what 1 device does;
the step is traced once; kill -9 then the same command resumes to the uninterrupted parameters bit for bit; a NaN
loss stops the run naming the step and keeps the last good checkpoint; a missing accelerator is a one-line error.

Every run is tests/configs/student_tiny.py (the tiny student on 16-px crops, batch 4, a few steps) on four 40x36
images; evaluation on two 24-px images, so each run costs seconds, mostly start-up and compilation.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from jaxsharp import configs, plot_training, student, train_lib
from jaxsharp.image_io import read_image_rgb, write_image
from jaxsharp.port import swinir_torch

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIG = REPO / "tests" / "configs" / "student_tiny.py"
TINY_TEACHER = ("reference", "swinir", "tiny_classical_x2_weights.npz")  # random weights: exercises the plumbing
STEPS = 6
TOL = 1e-5  # data-parallel vs single-device parity (summation order differs)

# Runs a config in its own process (device count and jax.distributed are per process) and saves its final params.
DRIVER = r"""
import json, sys
import numpy as np
spec = json.loads(sys.argv[1])
from jaxsharp import mesh
mesh.setup("cpu", **spec["distributed"])
from jaxsharp import configs, train_lib
config = configs.load_config(spec["config"])
config.update_from_flattened_dict({k: tuple(v) if isinstance(v, list) else v for k, v in spec["overrides"].items()})
result = train_lib.train_and_evaluate(config, spec["workdir"])
import jax
np.savez(spec["out"], **result.params)
print("devices", jax.device_count(), "processes", jax.process_count())
"""


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory, shared_data) -> dict[str, pathlib.Path]:
    root = tmp_path_factory.mktemp("tiny_data")
    t91 = sorted((shared_data / "train" / "T91").iterdir())
    for i, path in enumerate(t91[:4]):
        write_image(root / "train" / f"im{i}.png", read_image_rgb(path)[:36, :40])
    for i, path in enumerate(t91[4:6]):
        write_image(root / "benchmarks" / "Tiny" / "HR" / f"ev{i}.png", read_image_rgb(path)[:24, :24])
    return {"train": root / "train", "data_root": root}


@pytest.fixture(scope="module")
def overrides(tiny_data) -> dict:
    # The rest (steps, crops, batch, no warmup, Adam's eps) is CONFIG's own.
    return {"steps": STEPS, "data.train_dirs": (str(tiny_data["train"]),),
            "eval.sets": ("Tiny",), "eval.data_root": str(tiny_data["data_root"])}


def _config(overrides: dict, **more):
    config = configs.load_config(CONFIG)
    config.update_from_flattened_dict({**overrides, **more})
    return config


def _cli_args(overrides: dict) -> list[str]:
    return [f"--config.{k}={v!r}" if isinstance(v, tuple) else f"--config.{k}={v}" for k, v in overrides.items()]


def _env(**extra) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    env.update(extra)
    return env


def _train_cli(workdir, overrides: dict, *extra_args, timeout=300, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jaxsharp.train", "--config", str(CONFIG), "--workdir", str(workdir),
                           *_cli_args(overrides), *extra_args], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO, env=_env(**env))


def _exported(workdir) -> dict[str, np.ndarray]:
    with np.load(pathlib.Path(workdir) / "export" / "params.npz") as npz:
        return {k: npz[k] for k in npz.files}


def _max_abs_diff(a: dict, b: dict) -> float:
    assert set(a) == set(b)
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, overrides):
    """The uninterrupted single-device run, in this process (compared with CPU runs in subprocesses)."""
    if jax.device_count() != 1 or jax.default_backend() != "cpu":
        pytest.skip("the reference run needs a process with one CPU device")
    workdir = tmp_path_factory.mktemp("reference")
    result = train_lib.train_and_evaluate(_config(overrides), workdir)
    return workdir, result


@pytest.fixture(scope="module")
def two_device_params(tmp_path_factory, overrides):
    """Final parameters of one process with two (forced) host devices."""
    tmp = tmp_path_factory.mktemp("two_devices")
    out = tmp / "params.npz"
    spec = {"config": str(CONFIG), "overrides": overrides, "workdir": str(tmp / "run"), "out": str(out),
            "distributed": {}}
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(spec)], capture_output=True, text=True,
                          timeout=300, cwd=REPO, env=_env(XLA_FLAGS="--xla_force_host_platform_device_count=2"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "devices 2 processes 1" in proc.stdout
    with np.load(out) as npz:
        return {k: npz[k] for k in npz.files}


def test_cli_two_steps_end_to_end_with_distillation(tmp_path, overrides, shared_data):
    workdir = tmp_path / "run"
    teacher = tmp_path / "teacher"  # loss.teacher names a ported directory (jaxsharp port)
    swinir_torch.port(shared_data.joinpath(*TINY_TEACHER), teacher)
    proc = _train_cli(workdir, {**overrides, "steps": 2, "loss.distill_lambda": 1.0, "loss.teacher": str(teacher)})
    assert proc.returncode == 0, proc.stderr[-3000:]

    # The teacher ran once, into the cache; the step read its outputs from there.
    assert (workdir / "teacher_cache" / "manifest.json").is_file()
    assert len(list((workdir / "teacher_cache").glob("*.png"))) == 4
    rows = plot_training.read_metrics(workdir / "metrics.csv")
    for name in ("loss", "pixel_loss", "distill_loss", "psnr_y", "lr", "steps_per_sec"):
        steps, values = rows[("train", name)]
        assert steps == [2] and np.isfinite(values[0]), name
    assert rows[("eval", "Tiny/psnr_y")][0] == [2]
    assert sorted(p.name for p in (workdir / "checkpoints").iterdir()) == ["2"]

    # The export is what `evaluate --method student --weights WORKDIR/export` loads, and it gives the logged PSNR.
    model = student.load(workdir / "export")
    assert (model.config.size, model.config.scale, model.config.mode) == ("tiny", 2, "sharpen")
    from jaxsharp import evaluate

    result = evaluate.evaluate_set("Tiny", pathlib.Path(overrides["eval.data_root"]) / "benchmarks" / "Tiny" / "HR",
                                   evaluate.make_method("student", scale=2, mode="sharpen",
                                                        weights=str(workdir / "export")),
                                   method_name="student", scale=2, mode="sharpen", progress=False)
    assert result["psnr_y"] == pytest.approx(rows[("eval", "Tiny/psnr_y")][1][0], abs=1e-6)

    assert plot_training.main([str(workdir)]) == 0
    assert (workdir / "training.png").stat().st_size > 0


def test_train_step_is_traced_once(reference_run):
    _, result = reference_run
    assert result.step == STEPS
    assert result.train_step_traces == 1


def test_two_devices_match_one_device(reference_run, two_device_params):
    workdir, result = reference_run
    one = _exported(workdir)
    assert _max_abs_diff(one, result.params) == 0.0
    # The tail starts at zero: training moved it far beyond the tolerance, so the comparison is not vacuous.
    assert np.max(np.abs(one["tail/kernel"])) > 100 * TOL
    assert _max_abs_diff(one, two_device_params) <= TOL


def test_kill9_then_same_command_resumes_exactly(tmp_path, overrides, reference_run):
    workdir = tmp_path / "run"
    killed = _train_cli(workdir, overrides, "--config.debug_sigkill_at_step=5")
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert not (workdir / "export").exists()
    saved = sorted(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())
    assert saved and saved[-1] in (2, 4)  # 4 may still have been in flight (async save) when the process died

    # A step directory orbax had not finalized (as a kill mid-save leaves it) is not a checkpoint.
    half_written = workdir / "checkpoints" / f"{saved[-1] + 1}.orbax-checkpoint-tmp-1"
    half_written.mkdir(exist_ok=True)
    (half_written / "junk").write_bytes(b"\0" * 10)

    resumed = _train_cli(workdir, overrides)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming from step {saved[-1]}" in resumed.stdout
    ref_workdir, _ = reference_run
    reference = _exported(ref_workdir)
    params = _exported(workdir)
    assert all(np.array_equal(params[k], reference[k]) for k in reference), _max_abs_diff(params, reference)

    # One history in metrics.csv: rows logged after the checkpoint, before the kill, were dropped on resume.
    rows = plot_training.read_metrics(workdir / "metrics.csv")
    assert rows[("train", "loss")][0] == [2, 4, 6]
    assert rows[("train", "loss")][1] == plot_training.read_metrics(ref_workdir / "metrics.csv")[("train", "loss")][1]


def test_cli_distillation_with_upcycled_records_and_inversion_consistency(tmp_path, overrides):
    # An untrained student directory is the teacher (cheap); the trainer builds its cache with the upcycled kinds the
    # config asks for and logs the consistency term.
    from flax import nnx

    config = student.StudentConfig.from_size("tiny", scale=2, mode="sharpen")
    student.save(tmp_path / "teacher", student.build(config, rngs=nnx.Rngs(1)), config)
    workdir = tmp_path / "run"
    proc = _train_cli(workdir, {**overrides, "steps": 2, "loss.distill_lambda": 1.0,
                                "loss.teacher": str(tmp_path / "teacher"), "loss.consistency_lambda": 0.5,
                                "data.upcycle.zoom_in": 0.3, "data.upcycle.zoom_out": 0.3})
    assert proc.returncode == 0, proc.stderr[-3000:]
    cache = workdir / "teacher_cache"
    manifest = json.loads((cache / "manifest.json").read_text())
    assert manifest["upcycle"] == ["zoom_in", "zoom_out"] and manifest["complete"]
    for kind in ("", "zoom_in", "zoom_out"):
        assert len(list((cache / kind).glob("*.png"))) == 4, kind
    rows = plot_training.read_metrics(workdir / "metrics.csv")
    for name in ("loss", "distill_loss", "consistency_loss"):
        assert np.isfinite(rows[("train", name)][1][0]), name

    # Upcycling and the consistency term need a teacher: refused before any work, naming the field.
    for field, value in (("data.upcycle.zoom_in", 0.3), ("loss.consistency_lambda", 0.5)):
        proc = _train_cli(tmp_path / "refused", {**overrides, field: value, "loss.distill_lambda": 0.0})
        assert proc.returncode != 0 and "need a teacher" in proc.stderr, proc.stderr[-2000:]
    proc = _train_cli(tmp_path / "refused", {**overrides, "data.upcycle.zoom_out": 0.7, "data.upcycle.zoom_in": 0.4})
    assert proc.returncode != 0 and "data.upcycle" in proc.stderr and "sum below 1" in proc.stderr


def test_cli_feature_distillation_runs_the_frozen_teacher_and_refuses_one_of_another_mode(tmp_path, overrides):
    from flax import nnx

    for mode in ("sharpen", "sr"):
        config = student.StudentConfig.from_size("tiny", scale=2, mode=mode)
        student.save(tmp_path / mode, student.build(config, rngs=nnx.Rngs(1)), config)
    workdir = tmp_path / "run"
    proc = _train_cli(workdir, {**overrides, "steps": 2, "loss.feature_lambda": 1.0, "loss.feature_pool": 2,
                                "loss.teacher": str(tmp_path / "sharpen")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = plot_training.read_metrics(workdir / "metrics.csv")
    assert np.isfinite(rows[("train", "feature_loss")][1][0])
    assert not (workdir / "teacher_cache").exists()  # features only: no outputs cached
    proc = _train_cli(tmp_path / "refused", {**overrides, "loss.feature_lambda": 1.0,
                                             "loss.teacher": str(tmp_path / "sr")})
    assert proc.returncode != 0 and "the feature teacher is x2 sr, the run is x2 sharpen" in proc.stderr


def test_student_directory_serves_as_teacher(tmp_path):
    # An untrained sharpen student is the identity on its blurry input, so as a teacher of the lr image it must give
    # MATLAB bicubic x2 of the lr, clipped: what degrade.bicubic_pair makes the blurry training input from.
    from flax import nnx

    from jaxsharp import degrade

    config = student.StudentConfig.from_size("tiny", scale=2, mode="sharpen")
    student.save(tmp_path / "s", student.build(config, rngs=nnx.Rngs(0)), config)
    teacher = train_lib.load_teacher(tmp_path / "s")
    assert teacher.config.upscale == 2
    lr = np.random.default_rng(0).uniform(0.0, 1.0, (1, 10, 12, 3)).astype(np.float32)
    expected = np.clip(degrade.imresize_np(lr[0], 2.0), 0.0, 1.0)
    np.testing.assert_allclose(np.asarray(teacher(lr))[0], expected, atol=1e-5)


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path, overrides):
    workdir = tmp_path / "run"
    with pytest.raises(train_lib.NonFiniteLossError, match=r"loss is nan at step 3; stopping\. Last good "
                                                           r"checkpoint: step 2 in "):
        train_lib.train_and_evaluate(_config(overrides, debug_nan_at_step=3), workdir)
    assert sorted(p.name for p in (workdir / "checkpoints").iterdir()) == ["2"]
    assert not (workdir / "export").exists()


def test_missing_accelerator_is_a_one_line_error(tmp_path, overrides):
    if any(d.platform == "gpu" for d in jax.devices()):
        pytest.skip("this machine has a GPU")
    proc = _train_cli(tmp_path / "run", overrides, "--accelerator", "gpu", JAX_PLATFORMS="")
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == ["error: no gpu devices: jax sees only cpu"]
    assert not (tmp_path / "run").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_processes_match_two_devices(tmp_path, overrides, two_device_params):
    port = _free_port()
    procs, outs = [], []
    for i in range(2):
        out = tmp_path / f"params_{i}.npz"
        spec = {"config": str(CONFIG), "overrides": overrides, "workdir": str(tmp_path / "run"), "out": str(out),
                "distributed": {"coordinator_address": f"localhost:{port}", "num_processes": 2, "process_id": i}}
        procs.append(subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(spec)], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, cwd=REPO, env=_env()))
        outs.append(out)
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr[-3000:]
        assert "devices 2 processes 2" in stdout
    per_process = []
    for out in outs:
        with np.load(out) as npz:
            per_process.append({k: npz[k] for k in npz.files})
    assert _max_abs_diff(per_process[0], per_process[1]) == 0.0
    assert _max_abs_diff(per_process[0], two_device_params) <= TOL


def test_data_root_flag_resolves_the_config_data_paths(tmp_path, overrides, tiny_data):
    # Relative data paths (the published configs' "train/T91") are under --data-root, and eval.data_root "" is the
    # data root itself; the flag wins over $JAXSHARP_DATA.
    workdir = tmp_path / "run"
    relative = {**overrides, "steps": 2, "data.train_dirs": ("train",), "eval.data_root": ""}
    proc = _train_cli(workdir, relative, "--data-root", str(tiny_data["data_root"]),
                      JAXSHARP_DATA=str(tmp_path / "elsewhere"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert plot_training.read_metrics(workdir / "metrics.csv")[("eval", "Tiny/psnr_y")][0] == [2]
