"""experiments/gpu_session.py end to end on the CPU (--rehearse: tiny models, fake images), as before a lease."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys
import tarfile
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_rehearsal_runs_every_phase_and_packs_its_results(tmp_path):
    runs = f"runs/test_gpu_session_{uuid.uuid4().hex[:8]}"  # the script's run folders live under the repo
    try:
        proc = subprocess.run([sys.executable, "experiments/gpu_session.py", "--rehearse", "--runs", runs,
                               "--out", str(tmp_path / "out"), "--budget", "900"],
                              cwd=REPO, capture_output=True, text=True, timeout=1200)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        out = tmp_path / "out"
        names = sorted(p.name for p in out.iterdir())
        assert names == ["bench_gpu_bf16_b4.json", "bench_gpu_fp32_b1.json", "session.log", "small_kd.tar",
                         "small_nokd.tar", "teacher.tar", "tiny_pairs.tar"]  # <= 8 files: what a lease returns
        assert json.loads((out / "bench_gpu_fp32_b1.json").read_text())["results"]
        with tarfile.open(out / "tiny_pairs.tar") as tar:
            members = tar.getnames()
        for arm in ("kd_swinir_gpu", "nokd"):
            for seed in (0, 1, 2):
                assert f"{runs}/kd_seed_pairs_gpu/{arm}_s{seed}/export/params.npz" in members
        assert not any("checkpoints" in m or "teacher_cache" in m for m in members)  # finished runs: exports only
    finally:
        shutil.rmtree(REPO / runs, ignore_errors=True)
