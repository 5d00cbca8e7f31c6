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

Shipped as jaxsharp/assets/students/student_small_x2_kd (the distilled twin; the default `student_small_x2` is
the no-KD run of experiments/student_small_x2_nokd.py, which measured better).

Result (2026-11-26, one NVIDIA H200 through the device tool, experiments/gpu_session.py; teacher
experiments/teacher_swinir_s_x2.py at 35.84 dB Set5 sr): 12,000 steps in 85 s of training at ~80-150 steps/s,
input-bound (8 grain workers, beside the six tiny seed-pair runs). x2 sharpen, PSNR-Y / SSIM-Y:
| set | KD (this config) | no KD (student_small_x2_nokd) | KD - no KD |
|---|---|---|---|
| Set5 | 36.90 / 0.9554 | 37.24 / 0.9576 | -0.34 |
| Set14 | 32.55 / 0.9061 | 32.91 / 0.9111 | -0.36 |
| B100 | 31.40 / 0.8863 | 31.76 / 0.8938 | -0.36 |
| Urban100 (25 of 100) | 29.57 / 0.9004 | 30.46 / 0.9142 | -0.89 |
| categories: animals / games / nature / people / text | 34.62 / 0.9407, 32.52 / 0.9001, 36.02 / 0.9247, 34.58 / 0.9278, 32.98 / 0.9687 | 34.74 / 0.9431, 33.09 / 0.9085, 36.35 / 0.9297, 34.94 / 0.9323, 33.60 / 0.9726 | |
Distillation gain (mean of Set5 / Set14 / B100): -0.35 dB, one seed pair: the teacher is 1.4 dB below this student
on Set5 (35.84 vs 37.24), and an L1 pull towards a weaker target costs what it costs the tiny student over 3 seed
pairs (experiments/kd_seed_pairs.py, -0.15 +- 0.03 dB), more here because the gap is larger. JSON:
experiments/results/student_small_x2_kd_eval.json.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.seed = 0  # parameter init and the per-step key (fold_in(key, step))
    c.steps = 12_000
    c.log_every = 100  # metrics to host, metrics.csv and the progress bar
    c.eval_every = 4_000
    c.checkpoint_every = 1_000
    c.keep_checkpoints = 3

    c.model = ml_collections.ConfigDict()
    c.model.kind = "student"  # "student" (jaxsharp.student) or "swinir"
    # StudentConfig.from_size(size, scale=data.scale, mode=data.mode, **other fields given here)
    c.model.student = ml_collections.ConfigDict({"size": "small"})

    c.data = ml_collections.ConfigDict()
    # T91 + the 200 BSDS500 test images (none is a B100 image; ../shared/data/MANIFEST.md), relative to the repository:
    # the classic "291" training set's size. One source under their common parent (train_lib.train_source).
    c.data.train_dirs = ("../shared/data/train/T91", "../shared/data/train/BSDS500_test")
    c.data.cache_images = True  # decode each file once per process (~450 MB as float32)
    c.data.crop_size = 96  # HR crop, pixels
    c.data.scale = 2
    c.data.mode = "sharpen"
    c.data.batch_size = 16  # global, split over processes and devices
    c.data.worker_count = 8  # one core makes ~17 batches/s; an accelerator steps ~10x faster
    c.data.seed = 0

    c.optim = ml_collections.ConfigDict()
    c.optim.lr = 1e-3
    c.optim.schedule = "cosine"  # "constant", "cosine" or "multistep"
    c.optim.warmup_steps = 500
    c.optim.final_lr_fraction = 0.01  # cosine: lr at the last step, as a fraction of lr
    c.optim.milestones = (0.5, 0.8, 0.9, 0.95)  # multistep: fractions of `steps`
    c.optim.gamma = 0.5  # multistep: factor at each milestone
    c.optim.b1 = 0.9
    c.optim.b2 = 0.999
    c.optim.eps = 1e-8
    c.optim.weight_decay = 0.0
    c.optim.grad_clip = 1.0  # global-norm clip; 0 turns it off

    c.loss = ml_collections.ConfigDict()
    c.loss.pixel_kind = "l1"  # against the ground truth
    c.loss.distill_kind = "l1"  # against the teacher's output
    c.loss.distill_lambda = 1.0  # 0: no distillation (no teacher needed)
    # Teacher weights for building the cache (train_lib.load_teacher): a ported / exported SwinIR directory or a
    # student-format directory. Relative to the repository.
    c.loss.teacher = "runs/teacher_swinir_s_x2/export"
    c.loss.teacher_cache_dir = ""  # a prebuilt cache; "" builds one into WORKDIR/teacher_cache
    c.loss.teacher_tile = 128  # the cache runs the teacher on 128-px LR tiles (one compile); 0 = whole images
    c.loss.teacher_overlap = 16

    c.eval = ml_collections.ConfigDict()
    c.eval.sets = ("Set5",)  # evaluate.resolve_sets names
    c.eval.data_root = ""  # "" = ../shared/data beside the repository

    # Fault injection for tests; -1 = off.
    c.debug_nan_at_step = -1  # step whose loss is replaced by NaN
    c.debug_sigkill_at_step = -1  # the process kills itself (SIGKILL) after dispatching this step
    return c
