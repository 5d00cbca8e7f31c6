"""experiments/student_tiny_x2_cpu.py without distillation (distill_lambda = 0): the other arm of each seed pair.

    python -m jaxsharp.train --config experiments/student_tiny_x2_cpu_nokd.py --accelerator cpu --config.seed=0

Everything else (model, data, schedule, steps, seed) is student_tiny_x2_cpu's, so the difference is the teacher's.

Shipped as jaxsharp/assets/students/student_tiny_x2_plain (`student_tiny_x2` until 2026-12-06, when the
re-parameterised students, experiments/student_reparam_*_x2.py, took the plain names: issue 16) (8,124 parameters, 35 KB): the seed-0 run, a copy of
runs/kd_seed_pairs/nokd_s0/export, made by experiments/kd_seed_pairs.py (the command there), i.e.
    python -m jaxsharp.train --config experiments/student_tiny_x2_cpu_nokd.py --accelerator cpu \
        --workdir runs/kd_seed_pairs/nokd_s0 --config.seed=0 --config.data.seed=0
(1,000 steps, 167 s on the shared 2-core CPU). No-KD rather than KD because distillation did not help at this
budget (experiments/kd_seed_pairs.py). Seeds 1 and 2: Set5 35.96 / 36.00, Set14 31.98 / 32.03, B100 30.92 / 30.96.
    python -m jaxsharp.evaluate --method student --weights student_tiny_x2_plain --mode sharpen --scale 2 \
        --sets Set5,Set14,B100,Urban100,categories
| set | student_tiny_x2 (PSNR-Y / SSIM-Y) | bicubic (blurry input) |
|---|---|---|
| Set5 | 36.05 / 0.9510 | 33.67 / 0.9303 |
| Set14 | 32.09 / 0.9021 | 30.32 / 0.8699 |
| B100 | 30.99 / 0.8820 | 29.56 / 0.8434 |
| Urban100 (25 of 100) | 28.74 / 0.8887 | 26.99 / 0.8477 |
| categories: animals / games / nature / people / text | 34.04 / 0.9362, 32.07 / 0.8958, 35.51 / 0.9221, 34.04 / 0.9240, 31.90 / 0.9619 | |

Re-measured 2026-12-06, after evaluate began running models through the inference engine (`jaxsharp sharpen`'s
symmetric padding to 64-px buckets): `python -m jaxsharp.evaluate --method student --weights student_tiny_x2_plain --mode sharpen --scale 2 --sets Set5,Set14`
gives Set5 / Set14 PSNR-Y 36.053 / 32.086 dB (before: 36.053 / 32.087); SSIM-Y unchanged to 4 places.
"""

from jaxsharp.configs import common


def get_config():
    c = common.get_config()
    c.model.student.size = "tiny"
    c.steps = 1_000
    c.data.train_dirs = ("train/T91",)  # as run; the GPU recipes add BSDS500_test
    c.data.worker_count = 0
    c.optim.warmup_steps = 50
    c.log_every = 50
    c.eval_every = 1_000
    c.checkpoint_every = 250
    c.loss.distill_lambda = 0.0  # no distillation: the only change from student_tiny_x2_cpu
    c.loss.teacher = ""
    return c
