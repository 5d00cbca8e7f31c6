"""Student `small` (48 channels, 8 convs), x2 sharpen mode, distilled from our SwinIR-S x2 teacher on T91.

    python -m jaxsharp.train --config experiments/student_small_x2.py --accelerator gpu

Needs the teacher first (experiments/teacher_swinir_s_x2.py; its export is loss.teacher below). The teacher's outputs
on the training images are cached once into runs/student_small_x2/teacher_cache (x8 self-ensemble), and the crops
of each batch come with the matching crops of those outputs, so the step never runs the teacher.
Then: python -m jaxsharp.evaluate --method student --weights runs/student_small_x2/export --mode sharpen --sets Set5,Set14

Speed (short runs of student_small_x2_nokd, the same step without the distillation term): one H100 ~19 steps/s,
bound by the input pipeline (worker_count 0 makes ~20 batches/s on one core; raise data.worker_count there);
2 shared CPU cores ~1.0 steps/s.

Result: not run yet (Set5 / Set14 x2 sharpen PSNR-Y go here, with the card and wall time).
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
    # Teacher weights for building the cache: a ported / exported SwinIR directory, a .pth or .npz (teacher.load),
    # or a student-format directory. Relative to the repository.
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
