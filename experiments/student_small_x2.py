"""Student `small` (48 channels, 8 convs, 135K parameters), x2 sharpen, distilled from our SwinIR-S x2 teacher.

    python -m jaxsharp.train --config experiments/student_small_x2.py --accelerator gpu \
        --config.loss.teacher=jaxsharp/assets/teachers/swinir_s_x2
    python -m jaxsharp.evaluate --method student --weights runs/student_small_x2/export --mode sharpen --scale 2 \
        --sets Set5,Set14,B100,Urban100,categories

The teacher's outputs on the training images (T91 + BSDS500_test, 291 images) are cached once into
runs/student_small_x2/teacher_cache (x8 self-ensemble, 128-px tiles so SwinIR compiles once), and each batch's
crops come with the matching crops of those outputs, so the step never runs the teacher. Loss: L1 to the ground
truth + 1.0 x L1 to the teacher. 12,000 steps of batch 16 (96-px crops), Adam 1e-3, 500 warm-up steps, cosine to
1%, global-norm clip 1, seed 0. Official SwinIR weights: `jaxsharp port X.pth --out DIR`, --config.loss.teacher=DIR.

Shipped as jaxsharp/assets/students/student_small_x2_plain_kd (`student_small_x2_kd` until 2026-12-06, when the
re-parameterised students, experiments/student_reparam_*_x2.py, took the plain names: issue 16) (the distilled twin; the default until then, `student_small_x2_plain`, is
the no-KD run of experiments/student_small_x2_nokd.py, which measured better).

Result (2026-11-26, one NVIDIA H200 through the device tool, experiments/gpu_session.py; teacher
experiments/teacher_swinir_s_x2.py at 35.84 dB Set5 sr): 12,000 steps in 85 s of training at ~80-150 steps/s,
input-bound (8 grain workers, beside the six tiny seed-pair runs). x2 sharpen, PSNR-Y / SSIM-Y:
| set | KD (this config) | no KD (student_small_x2_nokd) | KD - no KD |
|---|---|---|---|
| Set5 | 36.90 / 0.9554 | 37.24 / 0.9576 | -0.34 |
| Set14 | 32.54 / 0.9061 (32.55 before 2026-12-06, see below) | 32.91 / 0.9111 | -0.37 |
| B100 | 31.40 / 0.8863 | 31.76 / 0.8938 | -0.36 |
| Urban100 (25 of 100) | 29.57 / 0.9004 | 30.46 / 0.9142 | -0.89 |
| categories: animals / games / nature / people / text | 34.62 / 0.9407, 32.52 / 0.9001, 36.02 / 0.9247, 34.58 / 0.9278, 32.98 / 0.9687 | 34.74 / 0.9431, 33.09 / 0.9085, 36.35 / 0.9297, 34.94 / 0.9323, 33.60 / 0.9726 | |
Distillation gain (mean of Set5 / Set14 / B100): -0.35 dB, one seed pair: the teacher is 1.4 dB below this student
on Set5 (35.84 vs 37.24), and an L1 pull towards a weaker target costs what it costs the tiny student over 3 seed
pairs (experiments/kd_seed_pairs.py, -0.15 +- 0.03 dB), more here because the gap is larger. JSON:
experiments/results/student_small_x2_kd_eval.json.

Re-measured 2026-12-06, after evaluate began running models through the inference engine (`jaxsharp sharpen`'s
symmetric padding to 64-px buckets): `python -m jaxsharp.evaluate --method student --weights student_small_x2_plain_kd --mode sharpen --scale 2 --sets Set5,Set14`
gives Set5 / Set14 PSNR-Y 36.898 / 32.544 dB (before: 36.898 / 32.547); SSIM-Y unchanged to 4 places.
"""

from jaxsharp.configs import common


def get_config():
    c = common.get_config()
    return c
