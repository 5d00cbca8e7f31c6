"""Issue 17: distillation variants against their no-distillation twins, over seed pairs, for the shipped tiny and
small students; writes experiments/results/kd_v2.json.

    python experiments/kd_v2.py run --student tiny --variant dukd      # 3 seed pairs (experiments/kd_seed_pairs.py)
    python experiments/kd_v2.py run --student small --variant dukd
    python experiments/kd_v2.py val                                    # every run's export on the validation split
    python experiments/kd_v2.py collect                                # -> experiments/results/kd_v2.json + table

Teacher: student_small_x2_plain under the x8 self-ensemble (chosen on the validation split among the shipped
models and their mixtures: experiments/kd_teacher_choice.py, experiments/results/kd_teacher_choice_val*.json); its
outputs, and the upcycled records' (zoom-in, zoom-out), are cached once in runs/kd_v2/teacher_cache and shared by
every KD run. Twins: the shipped students' own configs (experiments/student_reparam_{tiny,small}_x2.py), so a pair
differs only in what the variant adds; both arms of a pair use the same seed for the init and the data stream
(--config.seed, --config.data.seed). Runs are shortened to --steps (the shipped students trained 48k / 16k steps)
so that 12 runs fit in a CPU session; the gain is measured at that length.

Variants (the KD config, experiments/kd_v2_<student>.py, with these KD-only overrides):
  dukd       output distillation (lambda 1) + zoom-in 0.25 + zoom-out 0.25 + inversion consistency (lambda 0.5)
  upcycle    the same without the consistency term (one student forward per step, as the twin)
  output_kd  output distillation only (lambda 1): the earlier recipe, with this teacher
  fakd       output distillation (lambda 1) + FAKD on the last hidden feature maps (lambda 0.1, 2x2 pooling), the
             teacher run on every batch; no upcycling, no consistency term. Its lambda came from the term's size in a
             200-step probe (feature_loss ~0.10-0.17 against pixel_loss ~0.023 in metrics.csv), not from tuning:
             python -m jaxsharp.train --config experiments/kd_v2_tiny.py --workdir /tmp/fakdprobe --accelerator cpu \
               --config.steps=200 --config.log_every=50 --config.eval.sets='()' --config.loss.distill_lambda=0 \
               --config.data.upcycle.zoom_in=0 --config.data.upcycle.zoom_out=0 \
               --config.loss.consistency_lambda=0 --config.loss.feature_lambda=0.5
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "experiments"))

import kd_seed_pairs  # noqa: E402

from jaxsharp import atomic  # noqa: E402

TEACHER = {"name": "student_small_x2_plain +x8 self-ensemble",
           "weights": "jaxsharp/assets/students/student_small_x2_plain",
           "benchmarks": "experiments/results/kd_teacher_benchmarks.json"}
STUDENTS = {"tiny": ("experiments/kd_v2_tiny.py", "experiments/student_reparam_tiny_x2.py"),
            "small": ("experiments/kd_v2_small.py", "experiments/student_reparam_small_x2.py")}
VARIANTS = {
    "dukd": [],
    "upcycle": ["loss.consistency_lambda=0"],
    "output_kd": ["loss.consistency_lambda=0", "data.upcycle.zoom_in=0", "data.upcycle.zoom_out=0"],
    "fakd": ["loss.consistency_lambda=0", "data.upcycle.zoom_in=0", "data.upcycle.zoom_out=0",
             "loss.feature_lambda=0.1"],
}
CACHE = "runs/kd_v2/teacher_cache"
RESULTS = REPO / "experiments/results"


def variant_json(student: str, variant: str) -> pathlib.Path:
    return RESULTS / f"kd_v2_{variant}_{student}.json"


def run(args) -> int:
    kd, nokd = STUDENTS[args.student]
    argv = ["--kd", kd, "--nokd", nokd, "--seeds", args.seeds, "--workdir", f"runs/kd_v2/{args.student}",
            "--tag", args.variant, "--cache-dir", CACHE, "--teacher", TEACHER["weights"], "--tile", "0",
            "--json", str(variant_json(args.student, args.variant)),
            f"--config.steps={args.steps}", f"--config.eval_every={args.steps}", "--config.eval.sets=()",
            *[f"--kd-set={item}" for item in VARIANTS[args.variant]]]
    return kd_seed_pairs.main(argv)


def teacher_figures() -> dict:
    rows = json.loads((REPO / TEACHER["benchmarks"]).read_text())["results"]
    return {r["set"]: r["psnr_y"] for r in rows if r["method"].endswith("+x8")}


def val_pair(student: str, variant: str, seed: int) -> dict:
    """{"val": {"kd": dB, "nokd": dB}} from `evaluate --sets val` of the pair's exports (see `val`), else {}: the
    validation split beside the benchmarks, kept out of the benchmark mean."""
    out = {}
    for arm, run_name in (("kd", f"kd_{variant}_s{seed}"), ("nokd", f"nokd_s{seed}")):
        path = REPO / "runs/kd_v2" / student / run_name / "val.json"
        if not path.is_file():
            return {}
        out[arm] = json.loads(path.read_text())["results"][0]["psnr_y"]
    return {"val": out}


def val(args) -> int:
    """Evaluates every finished run's export on the validation split (runs/kd_v2/<student>/<run>/val.json)."""
    for export in sorted((REPO / "runs/kd_v2").glob("*/*/export")):
        result = export.parent / "val.json"
        if not result.is_file():
            kd_seed_pairs.evaluate_export(export, "val", result, export.parent.with_suffix(".val.log"))
        print(export.parent.relative_to(REPO), json.loads(result.read_text())["results"][0]["psnr_y"])
    return 0


def collect(args) -> int:
    teacher = {"name": TEACHER["name"], **teacher_figures()}
    variants, lines = [], ["| variant | student | gain per seed (dB) | mean +- sd (dB) | val gain, mean (dB) |",
                           "|---|---|---|---|---|"]
    for variant in VARIANTS:
        for student in STUDENTS:
            path = variant_json(student, variant)
            if not path.is_file():
                continue
            result = json.loads(path.read_text())
            pairs = [{"seed": p["seed"], "kd": p["kd"], "nokd": p["nokd"],
                      **val_pair(student, variant, p["seed"])} for p in result["pairs"]]
            variants.append({"name": variant, "student": student, "teacher": teacher, "steps": args.steps,
                             "kd_config": result["kd_config"], "nokd_config": result["nokd_config"],
                             "pairs": pairs})
            gains = [statistics.fmean(p["kd"][s] - p["nokd"][s] for s in p["kd"]) for p in pairs]
            sd = statistics.stdev(gains) if len(gains) > 1 else 0.0
            val_gains = [p["val"]["kd"] - p["val"]["nokd"] for p in pairs if "val" in p]
            val_text = (f"{statistics.fmean(val_gains):+.3f}" if len(val_gains) == len(pairs) else "-")
            lines.append(f"| {variant} | {student} | {' / '.join(f'{g:+.3f}' for g in gains)} | "
                         f"{statistics.fmean(gains):+.3f} +- {sd:.3f} | {val_text} |")
    atomic.write_json(RESULTS / "kd_v2.json", {"variants": variants}, indent=1)
    print("\n".join(lines))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--student", choices=sorted(STUDENTS), required=True)
    r.add_argument("--variant", choices=list(VARIANTS), default="dukd")
    r.add_argument("--seeds", default="0,1,2")
    r.add_argument("--steps", type=int, default=2000)
    sub.add_parser("val")
    c = sub.add_parser("collect")
    c.add_argument("--steps", type=int, default=2000, help="recorded in kd_v2.json (the runs' length)")
    args = p.parse_args(argv)
    return {"run": run, "val": val, "collect": collect}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
