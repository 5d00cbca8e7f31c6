"""Shipped `student_small_x2`: the re-parameterised student at the small budget (<= 30 GFLOPs per 1080p frame),
chosen on the validation split by the design grid (experiments/reparam_frontier.py, issue 16).

    python -m jaxsharp.train --config experiments/student_reparam_small_x2.py --accelerator cpu
    python -m jaxsharp.evaluate --method student --weights runs/student_reparam_small_x2/export --mode sharpen \
        --scale 2 --sets val,Set5,Set14,B100,categories

Network (collapsed, what ships): Y body (BT.601 luma in, one correction added to R, G and B), space-to-depth 2,
16 channels, 3x3 head, 11 ReLU blocks, 3x3 tail, SESR's long skip and the input residual: 26,692 parameters,
27.6 GFLOPs per 1920x1080 frame (XLA's count). Trained expanded (p = 256 inside every block, collapsed at every
step). Recipe: the grid's (T91 + BSDS500_test less the 10 validation images, 64-px crops, batch 32, L1, Adam 5e-4,
100 warm-up steps, cosine to 1%, seed 0), run longer.
"""

from jaxsharp.configs import common


def get_config():
    c = common.get_config()
    c.model.kind = "reparam"
    c.model.reparam.size = "m11"
    c.model.reparam.color = "y"
    c.model.reparam.head_kernel = 3
    c.steps = 16_000
    c.log_every = 200
    c.eval_every = 4_000
    c.checkpoint_every = 1_000
    c.data.holdout_validation = True
    c.data.crop_size = 64
    c.data.batch_size = 32
    c.data.worker_count = 0  # 2 cores: in-process input
    c.optim.lr = 5e-4
    c.optim.warmup_steps = 100
    c.loss.distill_lambda = 0.0
    c.loss.teacher = ""
    c.eval.sets = ("val", "Set5")
    return c
