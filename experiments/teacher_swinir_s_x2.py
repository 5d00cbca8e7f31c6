"""The SwinIR-S x2 teacher, trained from scratch (no official weights are available to us): the official lightweight
model and loss (Liang et al. 2021, options/swinir/train_swinir_sr_lightweight.json) on a one-lease budget.

    python -m jaxsharp.train --config experiments/teacher_swinir_s_x2.py --accelerator gpu
    python -m jaxsharp.evaluate --method teacher --weights runs/teacher_swinir_s_x2/export --mode sr --scale 2 \
        --sets Set5,Set14,B100,Urban100

Model: embed 60, depths (6,6,6,6), heads 6, window 8, mlp ratio 2, pixelshuffledirect, 1conv, x2 (the official
SwinIR-S, 0.91M parameters). Loss: pixel L1 only. Data: T91 + the 200 BSDS500 test images (no B100 image among them),
LR patches 64 (HR crop 128), random flips and rotations, batch 32. Schedule: Adam(0.9, 0.99), 100 warm-up steps to
5e-4, cosine to 1% over 2,000 steps, global-norm clip 1. The official run: DIV2K, batch 64, 2e-4 halved at
250k/400k/450k/475k of 500k iterations (38.14 / 33.86 dB on Set5 / Set14); 2,000 steps are 0.2% of its samples.

Shipped as jaxsharp/assets/teachers/swinir_s_x2 (a copy of runs/teacher_swinir_s_x2/export, 3.6 MB): what
`jaxsharp sharpen --model teacher` runs and what the student configs distil from.

Result (2026-11-26, one NVIDIA H200 lent through the device tool, `experiments/gpu_session.py`): 2,000 steps in
110 s at ~20 steps/s (192 s with start-up and compile; the first 105 s beside the no-KD student's run on the same
GPU). x2 sr, PSNR-Y / SSIM-Y (JSON: experiments/results/teacher_swinir_s_x2_eval_*.json):
| set | this teacher | bicubic | student_small_x2 (sharpen) | official SwinIR-S (DIV2K, 500k steps) |
|---|---|---|---|---|
| Set5 | 35.84 / 0.9486 | 33.67 / 0.9303 | 37.24 / 0.9576 | 38.14 / 0.9611 |
| Set14 | 31.86 / 0.8999 | 30.32 / 0.8699 | 32.91 / 0.9111 | 33.86 / 0.9206 |
| B100 | 30.92 / 0.8825 | 29.56 / 0.8434 | 31.76 / 0.8938 | 32.31 / 0.9012 |
| Urban100 (25 of 100) | 28.63 / 0.8856 | 26.99 / 0.8477 | 30.46 / 0.9142 | (32.76 / 0.9340 on all 100) |
Well above bicubic and well below the students: 2,000 SwinIR steps do not reach a 12,000-step CNN (the issue's
prediction: one SwinIR-S step costs ~100 CNN steps). Training PSNR on its crops was still rising (30.7 dB at
step 800, 32.3 at 1,600, 32.4 at 2,000; metrics.csv), so the figure is budget-bound, not a ceiling.

Re-measured 2026-12-06, after evaluate began running models through the inference engine (`jaxsharp sharpen`'s
symmetric padding to 64-px buckets): `python -m jaxsharp.evaluate --method teacher --weights swinir_s_x2 --mode sr --scale 2 --sets Set5,Set14`
gives Set5 / Set14 PSNR-Y 35.843 / 31.864 dB (before: 35.837 / 31.862); SSIM-Y unchanged to 4 places.
"""

from jaxsharp.configs import common


def get_config():
    c = common.get_config()
    c.steps = 2_000
    c.eval_every = 2_000
    c.checkpoint_every = 500

    c.model.kind = "swinir"  # model.swinir: the official SwinIR-S x2 (common's default)

    c.data.crop_size = 128  # HR crop; the model sees 64 x 64 LR patches
    c.data.mode = "sr"
    c.data.batch_size = 32  # global
    c.data.worker_count = 3

    # A short run wants a higher peak and a cosine to the end (the official 2e-4 with step decays is for 500k steps).
    c.optim.lr = 5e-4
    c.optim.warmup_steps = 100
    c.optim.b2 = 0.99
    # grad_clip stays 1: the official recipe does not clip; at 2.5x its lr an early spike is not worth the risk

    c.loss.distill_lambda = 0.0  # the teacher learns from the ground truth only
    c.loss.teacher = ""

    # None during training: each Set5 image size is a fresh SwinIR compile (~a minute of accelerator time); the
    # export is evaluated afterwards with jaxsharp.evaluate.
    c.eval.sets = ()
    return c
