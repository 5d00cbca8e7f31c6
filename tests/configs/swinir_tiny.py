"""The tests' SwinIR run: a 2-block, 12-channel SwinIR x2 (sr mode) on 32-px crops, batch 2, a few steps, in-process
input, no evaluation during training (each image size is a fresh SwinIR compile). The tests add the training folder.

    python -m jaxsharp.train --config tests/configs/swinir_tiny.py --workdir /tmp/run \
        --config.data.train_dirs="('/tmp/images',)"
"""

from jaxsharp.configs import common


def get_config():
    c = common.get_config()
    c.model.kind = "swinir"
    c.model.swinir.depths = (2,)
    c.model.swinir.num_heads = (2,)
    c.model.swinir.embed_dim = 12
    c.data.mode = "sr"
    c.data.crop_size = 32
    c.data.batch_size = 2
    c.data.worker_count = 0
    c.steps = 3
    c.log_every = 1
    c.checkpoint_every = 2
    c.loss.distill_lambda = 0.0
    c.loss.teacher = ""
    c.optim.warmup_steps = 0
    c.eval.sets = ()
    return c
