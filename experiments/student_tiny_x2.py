"""Student `tiny` (16 channels, 4 convs), x2 sharpen mode: the speed end, distilled from our SwinIR-S x2 teacher.

    python -m jaxsharp.train --config experiments/student_tiny_x2.py --accelerator gpu

Training recipe as experiments/student_small_x2.py (teacher, data, schedule); only the model size differs.

Result: not run yet (Set5 / Set14 x2 sharpen PSNR-Y go here, with the card and wall time).
"""

import pathlib
import runpy


def get_config():
    # By path, not by import: experiments/ is not a package, and this works from any working directory.
    c = runpy.run_path(str(pathlib.Path(__file__).with_name("student_small_x2.py")))["get_config"]()
    c.model.student.size = "tiny"
    return c
