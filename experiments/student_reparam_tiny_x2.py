"""Shipped `student_tiny_x2`: the re-parameterised student at the tiny budget (<= 10 GFLOPs per 1080p frame),
chosen on the validation split by the design grid (experiments/reparam_frontier.py, issue 16).

    python -m jaxsharp.train --config experiments/student_reparam_tiny_x2.py --accelerator cpu
    python -m jaxsharp.evaluate --method student --weights runs/student_reparam_tiny_x2/export --mode sharpen \
        --scale 2 --sets val,Set5,Set14,B100,categories

Network (collapsed, what ships): Y body (BT.601 luma in, one correction added to R, G and B), space-to-depth 2,
16 channels, 3x3 head, 3 ReLU blocks, 3x3 tail, SESR's long skip and the input residual: 8,132 parameters,
8.44 GFLOPs per 1920x1080 frame (XLA's count). Trained expanded (p = 256 inside every block, collapsed at every
step). Recipe: the grid's (T91 + BSDS500_test less the 10 validation images, 64-px crops, batch 32, L1, Adam 5e-4,
100 warm-up steps, cosine to 1%, seed 0), run longer.

Result (2026-12-06, seed 0, 24,000 steps in 42.7 min on the 2-core CPU, shared with the small run and the grid; shipped as jaxsharp/assets/students/student_tiny_x2, a copy of
runs/student_reparam_tiny_x2/export). x2 sharpen, PSNR-Y / SSIM-Y (JSON:
experiments/results/student_reparam_tiny_x2_eval.json):
| set | this student | issue 16 target |
|---|---|---|
| Set5 | 36.83 / 0.9555 | |
| Set14 | 32.61 / 0.9081 | |
| B100 | 31.45 / 0.8892 | |
| categories: animals / games / nature / people / text | 34.43 / 0.9401, 32.69 / 0.9046, 36.05 / 0.9278, 34.62 / 0.9292, 32.82 / 0.9690 | SSIM-Y >= 0.93 each |
Targets: Set5 >= 36.9: missed by 0.07; Set14 >= 32.5: met; >= 10 FPS: missed (5.2); SSIM-Y >= 0.93 per category: games, nature, people miss. Before (same sets): 36.05 / 32.09 / 30.99 (student_tiny_x2_plain, 8.4 GFLOPs). 1080p frame rate on the 2-core CPU through the engine (XLA,
float32, batch 1, 4 interleaved rounds, /tmp script, not the bench): 5.2 FPS against 7.6 (plain tiny) FPS. CPU hours: this
run ~0.75 h of a shared 2-core machine, plus the design grid (experiments/reparam_frontier.py, ~0.8 h in all).
"""

from jaxsharp.configs import common


def get_config():
    c = common.get_config()
    c.model.kind = "reparam"
    c.model.reparam.size = "m3"
    c.model.reparam.color = "y"
    c.model.reparam.head_kernel = 3
    c.steps = 24_000
    c.log_every = 200
    c.eval_every = 6_000
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
