"""The tests' re-parameterised student run: the `m3` shape narrowed to 8 channels, expand 16, x2 sharpen, a few
steps of batch 4 on 16-px crops, no distillation, input in-process. ECBSR's edge branches are off: they triple the
step's compile time, and tests/test_student_reparam.py holds them to the collapse.

    python -m jaxsharp.train --config tests/configs/reparam_tiny.py --workdir /tmp/run \
        --config.data.train_dirs="('/tmp/images',)" --config.eval.sets="()"
"""

from jaxsharp.configs import common


def get_config():
    c = common.get_config()
    c.model.kind = "reparam"
    c.model.reparam.size = "m3"
    c.model.reparam.channels = 8
    c.model.reparam.expand = 16
    c.steps = 6
    c.log_every = 2
    c.eval_every = 100
    c.checkpoint_every = 2
    c.data.crop_size = 16
    c.data.batch_size = 4
    c.data.worker_count = 0  # in-process input: 2 cores
    c.loss.distill_lambda = 0.0
    c.loss.teacher = ""
    c.optim.warmup_steps = 0
    c.optim.lr = 1e-3
    c.optim.eps = 1e-6
    return c
