"""Every config field with its default and what it means: the shared base of experiments/*.py and tests/configs/*.py.

    from jaxsharp.configs import common

    def get_config():
        c = common.get_config()
        c.steps = 4_000        # only what this config changes, written out in full
        return c

The defaults are the recipe of experiments/student_small_x2.py (the `small` student distilled from the SwinIR-S x2
teacher); `model.swinir` holds the SwinIR-S x2 teacher of experiments/teacher_swinir_s_x2.py, read only when
model.kind = "swinir". It lives in the package, not in experiments/ (not a package): a config imports it from any
working directory, through config_flags, runpy or a test, with no sys.path set-up.

Paths (jaxsharp/paths.py): absolute paths are used as they are. Shared-data fields (data.train_dirs,
eval.data_root) are relative to the data root ($JAXSHARP_DATA, `--data-root`, else ../shared/data beside the
repository), except paths starting with "./" or "../", which are relative to the repository. Weights and outputs
(loss.teacher, loss.teacher_cache_dir) are relative to the repository, e.g. "runs/teacher_swinir_s_x2/export".
"""

from __future__ import annotations

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.seed = 0  # parameter init and the per-step key (fold_in(key, step))
    c.steps = 12_000
    c.log_every = 100  # metrics to host, metrics.csv and the progress bar
    c.eval_every = 4_000  # steps between evaluations on eval.sets (and at the last step)
    c.checkpoint_every = 1_000
    c.keep_checkpoints = 3

    c.model = ml_collections.ConfigDict()
    c.model.kind = "student"  # "student" (jaxsharp.student), "reparam" (jaxsharp.student_reparam) or "swinir"
    # kind "student": StudentConfig.from_size(size, scale=data.scale, mode=data.mode, **other fields given here)
    c.model.student = ml_collections.ConfigDict({"size": "small"})
    # kind "reparam": ReparamConfig.from_size(size, scale=data.scale, mode=data.mode, **other fields given here);
    # SESR-M5's shape in RGB with its p = 256 expansion, 5x5 head and tail, space-to-depth = the scale; the other
    # ReparamConfig fields keep their defaults (channels / num_blocks come from size unless a config sets them)
    c.model.reparam = ml_collections.ConfigDict({"size": "m5", "expand": 256, "activation": "relu",
                                                 "edge_branches": False, "color": "rgb", "head_kernel": 5,
                                                 "space_to_depth": 0})
    # kind "swinir": jaxsharp.teacher.swinir.SwinIRConfig fields (here the official SwinIR-S x2, 0.91M parameters)
    c.model.swinir = ml_collections.ConfigDict(dict(
        upscale=2, in_chans=3, img_size=64, window_size=8, img_range=1.0, depths=(6, 6, 6, 6), embed_dim=60,
        num_heads=(6, 6, 6, 6), mlp_ratio=2.0, upsampler="pixelshuffledirect", resi_connection="1conv"))

    c.data = ml_collections.ConfigDict()
    # T91 + the 200 BSDS500 test images (none is a B100 image; MANIFEST.md of the data root), under the data root:
    # the classic "291" training set's size. One source under their common parent (train_lib.train_source).
    c.data.train_dirs = ("train/T91", "train/BSDS500_test")
    # True: leave out jaxsharp.splits' validation images (10 of BSDS500_test), to choose designs on eval.sets "val"
    c.data.holdout_validation = False
    c.data.source = "folders"  # where training images come from: "folders" = the image files of data.train_dirs
    c.data.degradation = "bicubic"  # how (input, target) pairs are made: "bicubic" = degrade.bicubic_pair
    c.data.target_usm = 0.0  # > 0: Real-ESRGAN's unsharp-masked target of this weight (its gt_usm) instead of the clean
    # Distillation only: DUKD's upcycled records (teacher_cache.UPCYCLE_KINDS) as shares of the draws, labelled by
    # the teacher and built into its cache: zoom_in (the HR image as an input, no ground truth), zoom_out (the lr
    # as the ground truth of its own degradation). 0 = none; the shares sum below 1.
    c.data.upcycle = ml_collections.ConfigDict({"zoom_in": 0.0, "zoom_out": 0.0})
    c.data.cache_images = True  # decode each file once per process (~450 MB as float32)
    c.data.crop_size = 96  # HR crop, pixels
    c.data.scale = 2
    c.data.mode = "sharpen"  # "sharpen": input is the bicubic-blurred image at HR size; "sr": the LR image
    c.data.batch_size = 16  # global, split over processes and devices
    c.data.worker_count = 8  # grain worker processes; 0 = in-process. One core makes ~17 batches/s
    c.data.seed = 0  # crop positions, flips and order

    c.optim = ml_collections.ConfigDict()
    c.optim.lr = 1e-3  # peak learning rate
    c.optim.schedule = "cosine"  # "constant", "cosine" or "multistep"
    c.optim.warmup_steps = 500  # linear warm-up from 0 to lr
    c.optim.final_lr_fraction = 0.01  # cosine: lr at the last step, as a fraction of lr
    c.optim.milestones = (0.5, 0.8, 0.9, 0.95)  # multistep: fractions of `steps`
    c.optim.gamma = 0.5  # multistep: factor at each milestone
    c.optim.b1 = 0.9  # Adam
    c.optim.b2 = 0.999
    c.optim.eps = 1e-8
    c.optim.weight_decay = 0.0  # > 0: AdamW
    c.optim.grad_clip = 1.0  # global-norm clip; 0 turns it off

    c.loss = ml_collections.ConfigDict()
    c.loss.pixel_kind = "l1"  # against the ground truth
    c.loss.distill_kind = "l1"  # against the teacher's output
    c.loss.distill_lambda = 1.0  # 0: no distillation (no teacher needed)
    # Label consistency under colour inversion (DUKD): + lambda * |1 - S(1 - x) - T(x)|, a second student forward
    # per step on the inverted inputs, against the same teacher outputs (needs distillation)
    c.loss.consistency_lambda = 0.0
    # Feature distillation (FAKD): + lambda * |A_S - A_T| of the spatial affinities of the last hidden feature maps,
    # the teacher (loss.teacher, a student-format model of the same scale and mode) run on each batch, frozen;
    # feature_pool averages positions first (64-px crops at block 2: 32x32 -> 16x16 positions with 2)
    c.loss.feature_lambda = 0.0
    c.loss.feature_pool = 2
    # Teacher weights for building the cache: a ported / exported SwinIR directory, a .pth or .npz (teacher.load),
    # or a student-format directory. Relative to the repository.
    c.loss.teacher = "runs/teacher_swinir_s_x2/export"
    c.loss.teacher_cache_dir = ""  # a prebuilt cache (relative to the repository); "" builds WORKDIR/teacher_cache
    c.loss.teacher_tile = 128  # the cache runs the teacher on 128-px LR tiles (one compile); 0 = whole images
    c.loss.teacher_overlap = 16  # LR pixels shared by neighbouring tiles

    c.eval = ml_collections.ConfigDict()
    c.eval.sets = ("Set5",)  # evaluate.resolve_sets names ("val": jaxsharp.splits); () = no evaluation
    c.eval.data_root = ""  # folder holding benchmarks/ and categories/; "" = the data root

    # Fault injection for tests; -1 = off.
    c.debug_nan_at_step = -1  # step whose loss is replaced by NaN
    c.debug_sigkill_at_step = -1  # the process kills itself (SIGKILL) after dispatching this step
    return c
