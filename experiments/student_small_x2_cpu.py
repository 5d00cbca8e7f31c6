"""The CPU-budget run of the default student (shipped until a GPU run replaced it): `small` (48 channels, 8 convs),
x2 sharpen mode, ground truth only, trained on T91 on a 2-core CPU in about an hour. It is
student_small_x2_nokd's recipe cut to a CPU budget (4,000 steps instead of 12,000, T91 only, in-process input).

    python -m jaxsharp.train --config experiments/student_small_x2_cpu.py --accelerator cpu --workdir runs/student_small_x2_cpu
    python -m jaxsharp.evaluate --method student --weights runs/student_small_x2_cpu/export --mode sharpen --scale 2 \
        --sets Set5,Set14,B100,Urban100,categories

Was shipped as jaxsharp/assets/students/student_small_x2 until 2026-11-26, when the GPU run of
experiments/student_small_x2_nokd.py (Set5 37.24, Set14 32.91) replaced it.

Result (2026-11-26, 4,000 steps in 51.7 min on 2 shared CPU cores; Set5 during training: 36.81 @1k, 36.90 @2k,
37.10 @4k). x2 sharpen, PSNR-Y / SSIM-Y (bicubic baseline from `--method bicubic --mode sr`, the same pixels):

| set | student_small_x2 | bicubic (blurry input) |
|---|---|---|
| Set5 | 37.10 / 0.9566 | 33.67 / 0.9303 |
| Set14 | 32.74 / 0.9091 | 30.32 / 0.8699 |
| B100 | 31.51 / 0.8902 | 29.56 / 0.8434 |
| Urban100 (25 of 100) | 29.98 / 0.9085 | 26.99 / 0.8477 |
| categories: animals / games / nature / people / text | 34.47 / 0.9406, 32.83 / 0.9054, 36.11 / 0.9278, 34.66 / 0.9299, 33.08 / 0.9698 | |

Below the issue's targets for the default student (Set5 >= 37.3, Set14 >= 32.9; SSIM >= 0.93 on every category:
games 0.9054 and people 0.9299 miss): a CPU-budget run, shipped so that `make demo` had a real model until the
GPU run replaced it.
"""

from jaxsharp.configs import common


def get_config():
    c = common.get_config()
    # student_small_x2_nokd's recipe cut to a CPU budget
    c.loss.distill_lambda = 0.0
    c.loss.teacher = ""
    c.steps = 4_000
    c.data.train_dirs = ("train/T91",)  # as run; the GPU recipes add BSDS500_test
    c.data.worker_count = 0
    c.optim.warmup_steps = 200
    c.eval_every = 1_000
    c.checkpoint_every = 500
    return c
