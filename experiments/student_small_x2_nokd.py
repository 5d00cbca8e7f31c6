"""Ablation of experiments/student_small_x2.py without distillation (distill_lambda = 0): ground truth only.

    python -m jaxsharp.train --config experiments/student_small_x2_nokd.py --accelerator gpu

Everything else (model, data, schedule, seed) is student_small_x2's, so the difference is the teacher's.

Result: not run yet (Set5 / Set14 x2 sharpen PSNR-Y beside student_small_x2's go here).
"""

import pathlib
import runpy


def get_config():
    # By path, not by import: experiments/ is not a package, and this works from any working directory.
    c = runpy.run_path(str(pathlib.Path(__file__).with_name("student_small_x2.py")))["get_config"]()
    c.loss.distill_lambda = 0.0
    c.loss.teacher = ""
    return c
