"""Issue 17's distilled tiny student: `student_tiny_x2`'s recipe (experiments/student_reparam_tiny_x2.py) plus
DUKD-style distillation from the strongest teacher made here (student_small_x2_plain under the x8 self-ensemble,
chosen on the validation split by experiments/kd_teacher_choice.py): output distillation on the ground-truth
records, upcycled zoom-in / zoom-out records labelled by the teacher, and label consistency under colour
inversion. Its twin is experiments/student_reparam_tiny_x2.py itself (same init and batches for a seed).

    python experiments/kd_v2.py --student tiny     # the seed pairs; see experiments/kd_v2.py
"""

from jaxsharp.configs import common


def get_config():
    c = common.get_config()
    c.model.kind = "reparam"
    c.model.reparam.size = "m3"
    c.model.reparam.color = "y"
    c.model.reparam.head_kernel = 3
    c.steps = 48_000
    c.log_every = 200
    c.eval_every = 12_000
    c.checkpoint_every = 1_000
    c.data.holdout_validation = True
    c.data.crop_size = 64
    c.data.batch_size = 32
    c.data.worker_count = 0  # 2 cores: in-process input
    c.data.upcycle.zoom_in = 0.25
    c.data.upcycle.zoom_out = 0.25
    c.optim.lr = 5e-4
    c.optim.warmup_steps = 100
    c.loss.distill_lambda = 1.0
    c.loss.consistency_lambda = 0.5
    c.loss.teacher = "jaxsharp/assets/students/student_small_x2_plain"
    c.eval.sets = ("val", "Set5")
    return c
