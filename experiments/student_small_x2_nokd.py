"""student_small_x2_plain, the default until 2026-12-06: experiments/student_small_x2.py without distillation.

    python -m jaxsharp.train --config experiments/student_small_x2_nokd.py --accelerator gpu
    python -m jaxsharp.evaluate --method student --weights student_small_x2_plain --mode sharpen --scale 2 \
        --sets Set5,Set14,B100,Urban100,categories

Everything else (model, data, schedule, steps, seed) is student_small_x2's, so the difference is the teacher's.
Shipped as jaxsharp/assets/students/student_small_x2_plain (`student_small_x2` until 2026-12-06, when the
re-parameterised students, experiments/student_reparam_*_x2.py, took the plain names: issue 16) (135,132 parameters, 532 KB; a copy of
runs/student_small_x2_nokd/export): `make demo`, `jaxsharp sharpen` and `--model student-small` used it until then.

Result (2026-11-26, one NVIDIA H200 through the device tool, experiments/gpu_session.py): 12,000 steps in 105 s
(start-up included) at ~130-155 steps/s, input-bound (8 grain workers), beside the teacher's run on the same GPU.
x2 sharpen, PSNR-Y / SSIM-Y (bicubic = the blurry input):
| set | student_small_x2 | bicubic | issue target |
|---|---|---|---|
| Set5 | 37.24 / 0.9576 | 33.67 / 0.9303 | >= 37.3: missed by 0.06 dB |
| Set14 | 32.91 / 0.9111 | 30.32 / 0.8699 | >= 32.9: met |
| B100 | 31.76 / 0.8938 | 29.56 / 0.8434 | |
| Urban100 (25 of 100) | 30.46 / 0.9142 | 26.99 / 0.8477 | |
| categories: animals / games / nature / people / text | 34.74 / 0.9431, 33.09 / 0.9085, 36.35 / 0.9297, 34.94 / 0.9323, 33.60 / 0.9726 | | SSIM >= 0.93 each: games and nature miss |
Against the CPU-trained small student it replaces (experiments/student_small_x2_cpu.py, 4,000 steps on T91):
+0.14 / +0.17 / +0.25 / +0.48 dB on Set5 / Set14 / B100 / Urban100. Set5 during training: 37.03 @4k, 37.18 @8k,
37.24 @12k (metrics.csv), still rising. JSON: experiments/results/student_small_x2_eval.json.

Re-measured 2026-12-06, after evaluate began running models through the inference engine (`jaxsharp sharpen`'s
symmetric padding to 64-px buckets): `python -m jaxsharp.evaluate --method student --weights student_small_x2_plain --mode sharpen --scale 2 --sets Set5,Set14`
gives Set5 / Set14 PSNR-Y 37.239 / 32.914 dB (before: 37.241 / 32.914); SSIM-Y unchanged to 4 places.
"""

from jaxsharp.configs import common


def get_config():
    c = common.get_config()
    c.loss.distill_lambda = 0.0  # no distillation: the only change from student_small_x2
    c.loss.teacher = ""
    return c
