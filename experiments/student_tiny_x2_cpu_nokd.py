"""experiments/student_tiny_x2_cpu.py without distillation (distill_lambda = 0): the other arm of each seed pair.

    python -m jaxsharp.train --config experiments/student_tiny_x2_cpu_nokd.py --accelerator cpu --config.seed=0

Everything else (model, data, schedule, steps, seed) is student_tiny_x2_cpu's, so the difference is the teacher's.
"""

import pathlib
import runpy


def get_config():
    c = runpy.run_path(str(pathlib.Path(__file__).with_name("student_tiny_x2_cpu.py")))["get_config"]()
    c.loss.distill_lambda = 0.0
    c.loss.teacher = ""
    return c
