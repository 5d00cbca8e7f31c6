"""Everything this project wants from one short accelerator lease, as one resumable, time-boxed script.

    python experiments/gpu_session.py --out "$OUT" --budget 570            # on the lent GPU (the device tool)
    python experiments/gpu_session.py --out /tmp/rehearsal --rehearse     # the same phases on the CPU, tiny sizes

Phases (each writes its results to --out as soon as it ends, so a lease cut short still returns what finished):
 1. bench: `python -m jaxsharp.bench` at 1920x1080 (float32, batch 1), alone on the machine.
 2. experiments/teacher_swinir_s_x2.py (SwinIR-S x2, GPU-bound, a few input workers) and, beside it,
    experiments/student_small_x2_nokd.py (input-bound, most of the CPU cores).
 3. the teacher's outputs cached (x8 self-ensemble, 128-px tiles: one compile) on the students' training images
    (T91 + BSDS500_test) and, for the tiny seed pairs, on T91.
 4. experiments/student_small_x2.py (distilled from that cache) beside the six tiny-student runs of
    experiments/kd_seed_pairs.py (seeds 0-2, KD and no-KD, the CPU recipe with this teacher); they are evaluated
    afterwards on the CPU by kd_seed_pairs.py, which finds the exports and skips their training.
 5. if time is left: the bench again in bfloat16 at batch 4.
A run still going when the budget ends is stopped and its newest checkpoint is returned instead of an export (the
trainer resumes from it anywhere). Outputs: <phase>.tar files of the run folders (export, metrics.csv, logs; no
checkpoints unless unfinished, no caches), bench JSON, and session.log (with the bench tables): 7 files.

The lease of 2026-11-26 (one H200; `bash experiments/gpu_session.sh 555` with .whl, .whl_fallback and device_data
carried; log: experiments/results/gpu_session_2026-11-26.log): bench 33 s; teacher 2,000 steps in 192 s beside
the no-KD student's 12,000 steps in 105 s; caches 162 s (291 images) + 29 s (T91), longer than planned (x8
self-ensemble, 4 tiles per call, 16-bit PNG writes on one host thread), so the budget stopped the distilled small
student after its step-6,000 checkpoint and two tiny KD runs after step 750. A second call on the still-warm
machine resumed the three from those checkpoints (the same train commands, exact resume: parameters, optimizer,
step and data-iterator position; 100 s), a third timed bfloat16 and
float32 at batch 4 (cut before its JSON). Device time used: ~14 of 15 minutes. Next time: more tiles per call
and PNG writes in a thread pool for the cache, or a smaller budget for phase 2.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tarfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

T0 = time.monotonic()
LOG: list[str] = []


def say(message: str) -> None:
    line = f"[{time.monotonic() - T0:6.1f}s] {message}"
    print(line, flush=True)
    LOG.append(line)


class Session:
    def __init__(self, args):
        self.args = args
        self.out = pathlib.Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.runs = REPO / args.runs
        self.logs = self.runs / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.accelerator = "cpu" if args.rehearse else "gpu"
        self.env = dict(os.environ, PYTHONUNBUFFERED="1", XLA_PYTHON_CLIENT_PREALLOCATE="false")

    def left(self) -> float:
        return self.args.budget - (time.monotonic() - T0)

    # --- processes ---------------------------------------------------------------------------------------------

    def start(self, name: str, cmd: list[str]) -> subprocess.Popen:
        say(f"start {name}: {' '.join(cmd)}")
        log = open(self.logs / f"{name}.log", "w")
        proc = subprocess.Popen(cmd, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        proc.name, proc.started = name, time.monotonic()
        return proc

    def wait(self, procs: list[subprocess.Popen], *, reserve: float) -> None:
        """Waits for procs; stops those still running when only `reserve` seconds of the budget are left."""
        pending = list(procs)
        while pending:
            for proc in list(pending):
                if proc.poll() is not None:
                    say(f"{proc.name} exited {proc.returncode} after {time.monotonic() - proc.started:.0f} s")
                    pending.remove(proc)
            if pending and self.left() < reserve:
                for proc in pending:
                    say(f"{proc.name}: out of time, stopping it")
                    proc.terminate()
                for proc in pending:
                    try:
                        proc.wait(15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                    say(f"{proc.name} stopped ({proc.returncode})")
                return
            time.sleep(1)

    def train_cmd(self, config: str, workdir: pathlib.Path, overrides: list[str]) -> list[str]:
        return [sys.executable, "-m", "jaxsharp.train", "--config", config, "--workdir", str(workdir),
                "--accelerator", self.accelerator, *overrides]

    # --- results -------------------------------------------------------------------------------------------------

    def pack(self, name: str, folders: list[pathlib.Path]) -> None:
        """<out>/<name>.tar: each run's export, metrics, logs; its newest checkpoint only if it has no export."""
        path = self.out / f"{name}.tar"
        with tarfile.open(path, "w") as tar:
            for folder in folders:
                if not folder.is_dir():
                    continue
                rel = folder.relative_to(REPO)
                for item in sorted(folder.iterdir()):
                    if item.name in ("checkpoints",) or item.name.startswith("teacher_cache"):
                        continue
                    tar.add(item, arcname=str(rel / item.name))
                ckpts = folder / "checkpoints"
                if not (folder / "export").is_dir() and ckpts.is_dir():
                    steps = sorted((int(p.name) for p in ckpts.iterdir() if p.name.isdigit()), reverse=True)
                    if steps:
                        tar.add(ckpts / str(steps[0]), arcname=str(rel / "checkpoints" / str(steps[0])))
            tar.add(self.logs, arcname=str(self.logs.relative_to(REPO)))
        say(f"packed {path.name} ({path.stat().st_size / 2**20:.1f} MiB)")

    def write_log(self) -> None:
        (self.out / "session.log").write_text("\n".join(LOG) + "\n")


def bench(s: Session, name: str, extra: list[str]) -> None:
    size = ["--size", "128x96", "--repeats", "2"] if s.args.rehearse else ["--repeats", "20"]
    proc = s.start(name, [sys.executable, "-m", "jaxsharp.bench", "--json", str(s.out / f"{name}.json"), *size,
                          *extra])
    s.wait([proc], reserve=s.left() - s.args.bench_seconds)
    LOG.append((s.logs / f"{name}.log").read_text(errors="replace"))  # the Markdown table, into session.log


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.environ.get("OUT", "runs/gpu_session/out"))
    p.add_argument("--runs", default="runs", help="parent of the run folders, relative to the repository")
    p.add_argument("--budget", type=float, default=570.0, help="seconds for everything")
    p.add_argument("--bench-seconds", type=float, default=100.0)
    p.add_argument("--rehearse", action="store_true", help="CPU, tiny sizes and data: checks the plumbing")
    p.add_argument("--fake-data", default="runs/gpu_session/fake_train", help="rehearsal training images")
    args = p.parse_args(argv)
    s = Session(args)
    say(f"gpu_session: budget {args.budget:.0f} s, out {s.out}, rehearse {args.rehearse}")
    info = subprocess.run([sys.executable, "-c", "import jax, flax, optax, orbax.checkpoint as o, grain; "
                           "print(jax.__version__, flax.__version__, optax.__version__, grain.__version__, "
                           "jax.devices())"], cwd=REPO, env=s.env, capture_output=True, text=True)
    say(f"versions: {info.stdout.strip()} {info.stderr.strip()[-500:]}")

    teacher_dir, nokd_dir, kd_dir = s.runs / "teacher_swinir_s_x2", s.runs / "student_small_x2_nokd", \
        s.runs / "student_small_x2"
    pairs_dir = s.runs / "kd_seed_pairs_gpu"
    teacher_export = teacher_dir / "export"
    small, tiny, teacher = [], [], []  # per-config overrides
    if args.rehearse:
        fake = REPO / args.fake_data
        make_fake_data(fake)
        two = f"--config.data.train_dirs=('{fake / 'T91'}', '{fake / 'BSDS500_test'}')"
        teacher = [two, "--config.steps=3", "--config.data.batch_size=2", "--config.data.crop_size=64",
                   "--config.checkpoint_every=2", "--config.data.worker_count=1", "--config.model.swinir.depths=(2,)",
                   "--config.model.swinir.num_heads=(2,)", "--config.model.swinir.embed_dim=12"]
        small = [two, "--config.steps=6", "--config.data.batch_size=2", "--config.data.crop_size=32",
                 "--config.checkpoint_every=3", "--config.data.worker_count=1", "--config.eval_every=6"]
        tiny = [f"--config.data.train_dirs=('{fake / 'T91'}',)", "--config.steps=4", "--config.data.batch_size=2",
                "--config.data.crop_size=32", "--config.checkpoint_every=2"]

    # 1. bench, alone
    bench(s, "bench_gpu_fp32_b1", [])
    s.write_log()

    # 2. teacher beside the no-KD student
    procs = [s.start("teacher", s.train_cmd("experiments/teacher_swinir_s_x2.py", teacher_dir, teacher)),
             s.start("small_nokd", s.train_cmd("experiments/student_small_x2_nokd.py", nokd_dir, small))]
    s.wait(procs, reserve=60)
    s.pack("teacher", [teacher_dir])
    s.pack("small_nokd", [nokd_dir])
    s.write_log()
    if not teacher_export.is_dir():
        say("no teacher export: stopping before distillation")
        s.write_log()
        return 1

    # 3. teacher caches (one process, the GPU to itself)
    from jaxsharp import train_lib
    from jaxsharp.configs import load_config  # the trainer's own --config.KEY=VALUE parsing

    caches = []
    for config_path, workdir, overrides in (("experiments/student_small_x2.py", kd_dir, small),
                                            ("experiments/student_tiny_x2_cpu.py", pairs_dir, tiny)):
        config = load_config(REPO / config_path, overrides)
        cache = workdir / "teacher_cache_swinir_gpu"
        t = time.monotonic()
        manifest = train_lib.build_teacher_cache(config, cache, teacher=str(teacher_export),
                                                 progress=False)
        say(f"teacher cache {cache.relative_to(REPO)}: {len(manifest['entries'])} images in "
            f"{time.monotonic() - t:.0f} s")
        caches.append(cache)
    s.write_log()

    # 4. distilled small student beside the tiny seed pairs
    procs = [s.start("small_kd", s.train_cmd("experiments/student_small_x2.py", kd_dir,
                                             [*small, f"--config.loss.teacher_cache_dir={caches[0]}"]))]
    for seed in (0, 1, 2):
        seeds = [f"--config.seed={seed}", f"--config.data.seed={seed}", "--config.data.worker_count=1"]
        procs.append(s.start(f"tiny_kd_s{seed}", s.train_cmd(
            "experiments/student_tiny_x2_cpu.py", pairs_dir / f"kd_swinir_gpu_s{seed}",
            [*tiny, *seeds, f"--config.loss.teacher_cache_dir={caches[1]}"])))
        procs.append(s.start(f"tiny_nokd_s{seed}", s.train_cmd(
            "experiments/student_tiny_x2_cpu_nokd.py", pairs_dir / f"nokd_s{seed}", [*tiny, *seeds])))
    s.wait(procs, reserve=25)
    s.pack("small_kd", [kd_dir])
    s.pack("tiny_pairs", [pairs_dir / f"{arm}_s{seed}" for seed in (0, 1, 2) for arm in ("kd_swinir_gpu", "nokd")])
    s.write_log()

    # 5. bfloat16 bench if there is time
    if s.left() > args.bench_seconds * 0.75:
        bench(s, "bench_gpu_bf16_b4", ["--dtype", "bfloat16", "--batch", "4"])
    say("done")
    s.write_log()
    return 0


def make_fake_data(root: pathlib.Path) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for folder, n in (("T91", 3), ("BSDS500_test", 2)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            h, w = int(rng.integers(40, 90)), int(rng.integers(40, 90))
            Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / folder / f"{i}.png")


if __name__ == "__main__":
    sys.exit(main())
