"""The bundled default student (`make demo`): `small` (48 channels, 8 convs), x2 sharpen mode, ground truth only,
trained on T91 on a 2-core CPU in about an hour. No SwinIR teacher strong enough to distil from exists yet
(experiments/teacher_swinir_s_x2.py needs an accelerator), so this one learns without distillation; it is
student_small_x2_nokd's recipe cut to a CPU budget (4,000 steps instead of 20,000).

    python -m jaxsharp.train --config experiments/student_small_x2_cpu.py --accelerator cpu --workdir runs/student_small_x2_cpu
    python -m jaxsharp.evaluate --method student --weights runs/student_small_x2_cpu/export --mode sharpen --scale 2 \
        --sets Set5,Set14,B100,Urban100,categories

Shipped as jaxsharp/assets/students/student_small_x2 (a copy of runs/student_small_x2_cpu/export).

Result: filled in below once the run has finished.
"""

import pathlib
import runpy


def get_config():
    # By path, not by import: experiments/ is not a package, and this works from any working directory.
    c = runpy.run_path(str(pathlib.Path(__file__).with_name("student_small_x2_nokd.py")))["get_config"]()
    c.steps = 4_000
    c.optim.warmup_steps = 200
    c.eval_every = 1_000
    c.checkpoint_every = 500
    return c
