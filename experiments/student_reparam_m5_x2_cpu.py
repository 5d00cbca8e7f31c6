"""Calibration of the re-parameterised family on this CPU (not shipped): `m5` (SESR-M5's shape in RGB, x2 sharpen,
16 channels, 5 collapsible blocks, p = 256, 5x5 head and tail) trained expanded with the per-step collapse.

    python -m jaxsharp.train --config experiments/student_reparam_m5_x2_cpu.py --accelerator cpu
    python -m jaxsharp.evaluate --method student --weights runs/student_reparam_m5_x2_cpu/export --mode sharpen \
        --scale 2 --sets Set5,Set14,B100

Why: the first measured point of the family against the shipped plain students at a comparable cost (collapsed:
21,228 parameters, 22.0 GFLOPs per 1080p frame; tiny: 8,124 / 8.4, small: 135,132 / 140). Recipe as the issue's
calibration: T91 + BSDS500_test, 64-px HR crops, batch 32, Adam 5e-4 cosine, L1. Not a design choice: those are
to be made on a validation split of the training images (the next step of the issue).

Result (2026-12-06, 4,000 steps in 5 min 17 s on the 2-core CPU, ~13 steps/s, seed 0; the in-training Set5
evaluation, through the engine, gave the same 36.691):
| student | params | GFLOPs / 1080p frame | Set5 | Set14 | B100 | training |
|---|---:|---:|---:|---:|---:|---|
| this config (m5, block 2, 5x5 head and tail) | 21,228 | 22.0 | 36.69 / 0.9549 | 32.48 / 0.9071 | 31.36 / 0.8879 | 4,000 CPU steps, 5.3 min |
| student_tiny_x2 (plain, shipped) | 8,124 | 8.4 | 36.05 / 0.9510 | 32.09 / 0.9021 | 30.99 / 0.8820 | 1,000 CPU steps, 2.8 min |
| student_small_x2 (plain, shipped) | 135,132 | 140 | 37.24 / 0.9576 | 32.91 / 0.9111 | 31.76 / 0.8938 | 12,000 H200 steps |
PSNR-Y / SSIM-Y, x2 sharpen; `python -m jaxsharp.evaluate` as above. One seed, one budget: a first point, not a
comparison at equal cost or training time (the seed spread of a 7.5K-parameter student here is ~0.4 dB).
"""

from jaxsharp.configs import common


def get_config():
    c = common.get_config()
    c.model.kind = "reparam"
    c.model.reparam.size = "m5"
    c.steps = 4_000
    c.log_every = 100
    c.eval_every = 4_000
    c.checkpoint_every = 500
    c.data.crop_size = 64
    c.data.batch_size = 32
    c.data.worker_count = 0  # 2 cores: in-process input
    c.optim.lr = 5e-4
    c.optim.warmup_steps = 100
    c.loss.distill_lambda = 0.0
    c.loss.teacher = ""
    return c
