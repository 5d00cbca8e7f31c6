"""Which teacher for distillation: every candidate's x2 sharpen PSNR-Y on the validation split, with and without
the x8 geometric self-ensemble the teacher cache uses (issue 17: "the strongest teacher these machines can make,
chosen by measurement"). The benchmark sets are measured only for the chosen teacher, to state its margins.

    python experiments/kd_teacher_choice.py --sets val --json experiments/results/kd_teacher_choice_val.json
    python experiments/kd_teacher_choice.py --sets Set5,Set14,B100 --models student_small_x2_plain \
        --json experiments/results/kd_teacher_benchmarks.json

Each candidate runs through `teacher_cache.self_ensemble` exactly as `build_teacher_cache` runs it (whole images;
the cache's tiles change nothing for a CNN whose receptive field is inside the overlap), on the inputs
`python -m jaxsharp.evaluate` makes (MATLAB bicubic, 8-bit), scored by `evaluate.evaluate_set`.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxsharp import evaluate, models, paths, teacher_cache, train_lib  # noqa: E402
from jaxsharp import atomic  # noqa: E402


def sharpen_method(spec: str, ensemble: bool):
    """spec: a model name or path, or several joined by "+" (the mean of their outputs)."""
    members = [models.load(name) for name in spec.split("+")]

    def run(name, inp):
        x = jnp.asarray(inp[None], jnp.float32)
        outs = [teacher_cache.self_ensemble(m, x) if ensemble else m(x) for m in members]
        return np.clip(np.asarray(sum(outs) / len(outs), np.float32)[0], 0.0, 1.0)

    return run


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="student_small_x2_plain,student_small_x2,student_tiny_x2")
    p.add_argument("--sets", default="val")
    p.add_argument("--json")
    args = p.parse_args(argv)
    sets = evaluate.resolve_sets(args.sets.split(","), paths.data_root())
    rows = []
    for name in args.models.split(","):
        for ensemble in (False, True):
            method = sharpen_method(name, ensemble)
            label = name + (" +x8" if ensemble else "")
            for set_name, folder in sets:
                r = evaluate.evaluate_set(set_name, folder, method, method_name=label, scale=2, mode="sharpen",
                                          progress=False)
                rows.append(r)
                print(f"{label:32s} {set_name:8s} PSNR-Y {r['psnr_y']:.3f} SSIM-Y {r['ssim_y']:.4f}", flush=True)
    if args.json:
        atomic.write_json(args.json, {"results": evaluate.json_safe(rows)}, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
