"""The design exploration of the re-parameterised student on this CPU (issue 16): one recipe, one budget, every
point a set of --config.model.reparam.* overrides (experiments/reparam_frontier.py runs the grid and writes
experiments/results/reparam_frontier.json). Chosen on the validation split (jaxsharp.splits: 10 held-out
BSDS500_test images, left out of training here), never on a benchmark set.

    python -m jaxsharp.train --config experiments/reparam_explore_x2_cpu.py --accelerator cpu \
        --workdir runs/frontier/m5_y --config.model.reparam.color=y

Recipe: the issue's calibration (T91 + BSDS500_test less the validation images, 64-px HR crops, batch 32, Adam
5e-4 with 100 warm-up steps and a cosine to 1%, L1, no distillation), 3,000 steps (3-6 min per point here).
The base point is SESR-M5's shape in RGB (16 channels, 5 blocks, p = 256, 5x5 head and tail, ReLU, block 2).
"""

from jaxsharp.configs import common


def get_config():
    c = common.get_config()
    c.model.kind = "reparam"
    c.model.reparam.size = "m5"
    # written out so a point can override them (channels / num_blocks equal to m5's keep the name "m5")
    c.model.reparam.channels = 16
    c.model.reparam.num_blocks = 5
    c.model.reparam.feature_residual = True
    c.model.reparam.input_residual = True
    c.steps = 3_000
    c.log_every = 100
    c.eval_every = 3_000
    c.checkpoint_every = 500
    c.data.holdout_validation = True
    c.data.crop_size = 64
    c.data.batch_size = 32
    c.data.worker_count = 0  # 2 cores: in-process input
    c.optim.lr = 5e-4
    c.optim.warmup_steps = 100
    c.loss.distill_lambda = 0.0
    c.loss.teacher = ""
    c.eval.sets = ("val",)
    return c
