"""Student `tiny` (16 channels, 4 convs), x2 sharpen mode: the speed end, distilled from our SwinIR-S x2 teacher.

    python -m jaxsharp.train --config experiments/student_tiny_x2.py --accelerator gpu

Training recipe as experiments/student_small_x2.py (teacher, data, schedule); only the model size differs.

Result: not run yet (Set5 / Set14 x2 sharpen PSNR-Y go here, with the card and wall time).
"""

from jaxsharp.configs import common


def get_config():
    c = common.get_config()
    c.model.student.size = "tiny"
    return c
