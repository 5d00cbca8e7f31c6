"""Runs the re-parameterised student's design grid (issue 16) and writes experiments/results/reparam_frontier.json.

    python experiments/reparam_frontier.py [--only NAME,...] [--steps N]
    python experiments/reparam_frontier.py --table        # the measured points as markdown

Every point trains experiments/reparam_explore_x2_cpu.py with its overrides into runs/frontier/<name> (resumable:
a finished point is skipped, an interrupted one resumes from its checkpoint), then its export is evaluated on the
validation split (what the choice is made on) and, for the record only, on Set5 / Set14 / B100. Parameters and
GFLOPs per 1080p frame are the collapsed network's (jaxsharp.student_reparam.info). The JSON is rewritten
atomically after every point, so a stopped grid keeps what it measured.
"""

from __future__ import annotations

import argparse
import csv
import json
import pathlib
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIG = "experiments/reparam_explore_x2_cpu.py"
OUT = REPO / "experiments/results/reparam_frontier.json"

# name -> overrides of config.model.reparam (a key with a dot: of the whole config), one question each against its
# neighbour (the comment); in the order they run, the choices the shipped students need first.
POINTS: dict[str, dict] = {
    "m5_rgb": {},                                                   # the base: SESR-M5's shape in RGB
    "m5_y": {"color": "y"},                                         # colour: Y body, chroma from the input
    "b4_c32_m7_y": {"color": "y", "channels": 32, "num_blocks": 7, "space_to_depth": 4},  # block 4, wider
    "b4_c32_m7_y_crop128": {"color": "y", "channels": 32, "num_blocks": 7, "space_to_depth": 4,
                            "data.crop_size": 128, "data.batch_size": 8},  # recipe: patch size, same pixels
    "b4_c32_m3_y_h3": {"color": "y", "channels": 32, "num_blocks": 3, "space_to_depth": 4,
                       "head_kernel": 3},                           # block 4 at the tiny budget (the fast one)
    "m5_y_h3": {"color": "y", "head_kernel": 3},                    # head / tail kernel
    "m5_y_prelu": {"color": "y", "activation": "prelu"},            # activation
    "m3_y_h3": {"color": "y", "num_blocks": 3, "head_kernel": 3},   # depth (the tiny budget)
    "m11_y": {"color": "y", "num_blocks": 11},                      # depth (the small budget)
    "c24_m4_y": {"color": "y", "channels": 24, "num_blocks": 4},    # width (the small budget)
    "m5_rgb_nores": {"input_residual": False},                      # input-to-output residual
    "b4_c40_m6_y_h3": {"color": "y", "channels": 40, "num_blocks": 6, "space_to_depth": 4,
                       "head_kernel": 3},                           # block 4 at the small budget
    "c20_m2_y_h3": {"color": "y", "channels": 20, "num_blocks": 2, "head_kernel": 3},  # width at the tiny budget
}
REPORT_SETS = "Set5,Set14,B100"


def _py() -> str:
    return sys.executable


def _final_eval(workdir: pathlib.Path, steps: int) -> dict:
    with open(workdir / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "eval" and int(r["step"]) == steps]
    return {r["name"]: float(r["value"]) for r in rows}


def _evaluate(export: pathlib.Path, sets: str) -> dict:
    out = export.parent / f"eval_{sets.replace(',', '_')}.json"
    if not out.exists():
        subprocess.run([_py(), "-m", "jaxsharp.evaluate", "--method", "student", "--weights", str(export),
                        "--mode", "sharpen", "--scale", "2", "--sets", sets, "--json", str(out), "--no-progress"],
                       check=True, cwd=REPO)
    results = json.loads(out.read_text())
    rows = results["results"] if isinstance(results, dict) and "results" in results else results
    return {r["set"]: {"psnr_y": r["psnr_y"], "ssim_y": r["ssim_y"]} for r in rows}


def run_point(name: str, overrides: dict, steps: int) -> dict:
    from jaxsharp.student_reparam.config import ReparamConfig
    from jaxsharp.student_reparam.info import frame_cost

    workdir = REPO / "runs/frontier" / name
    flags = [f"--config.{k if '.' in k else 'model.reparam.' + k}={v}" for k, v in overrides.items()]
    export = workdir / "export"
    started = time.time()
    if not (export / "params.npz").exists() or not _final_eval(workdir, steps):
        subprocess.run([_py(), "-m", "jaxsharp.train", "--config", CONFIG, "--accelerator", "cpu",
                        "--workdir", str(workdir), f"--config.steps={steps}", f"--config.eval_every={steps}", *flags],
                       check=True, cwd=REPO)
    config = ReparamConfig.from_dict(json.loads((export / "config.json").read_text()))
    cost = frame_cost(config, (1080, 1920))
    val = _final_eval(workdir, steps)
    return {"name": name, "overrides": overrides, "config": json.loads((export / "config.json").read_text())["config"],
            "steps": steps, "params": cost["params"], "training_params": cost["training_params"],
            "gflops_1080p": cost["flops"] / 1e9, "val": {"psnr_y": val["val/psnr_y"], "ssim_y": val["val/ssim_y"]},
            "report": _evaluate(export, REPORT_SETS), "export": str(export.relative_to(REPO)),
            "wall_s_this_call": round(time.time() - started, 1)}


def markdown_table(results: dict) -> str:
    """The measured points as a markdown table, best validation PSNR first."""
    rows = ["| point | overrides | params | GFLOPs / 1080p | val PSNR-Y | Set5 | Set14 | B100 |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    for p in sorted(results["points"], key=lambda p: -p["val"]["psnr_y"]):
        change = ", ".join(f"{k}={v}" for k, v in p["overrides"].items()) or "(base)"
        rows.append(f"| {p['name']} | {change} | {p['params']:,} | {p['gflops_1080p']:.2f} | "
                    f"{p['val']['psnr_y']:.3f} | " + " | ".join(f"{p['report'][s]['psnr_y']:.2f}"
                                                            for s in REPORT_SETS.split(",")) + " |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated point names (default: all)")
    parser.add_argument("--steps", type=int, default=3_000)
    parser.add_argument("--table", action="store_true", help="print the measured points as markdown and exit")
    args = parser.parse_args()
    if args.table:
        print(markdown_table(json.loads(OUT.read_text())))
        return 0
    names = [n for n in args.only.split(",") if n] or list(POINTS)
    unknown = sorted(set(names) - set(POINTS))
    if unknown:
        raise SystemExit(f"unknown points {unknown}; known: {', '.join(POINTS)}")
    results = json.loads(OUT.read_text()) if OUT.exists() else {"config": CONFIG, "points": []}
    for name in names:
        point = run_point(name, POINTS[name], args.steps)
        results["points"] = [p for p in results["points"] if p["name"] != name] + [point]
        tmp = OUT.with_suffix(".tmp")
        tmp.write_text(json.dumps(results, indent=1))
        tmp.replace(OUT)
        print(f"{name}: val {point['val']['psnr_y']:.3f} dB, {point['gflops_1080p']:.2f} GFLOPs, "
              f"{point['params']:,} params", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
