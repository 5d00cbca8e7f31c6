"""The tests' student run: the `tiny` student (16 channels, 4 convs), x2 sharpen, a few steps of batch 4 on 16-px crops,
no distillation, input in-process. The tests add the training and evaluation folders they make (tests/test_train.py).

    python -m jaxsharp.train --config tests/configs/student_tiny.py --workdir /tmp/run \
        --config.data.train_dirs="('/tmp/images',)" --config.eval.sets="()"
"""

from jaxsharp.configs import common


def get_config():
    c = common.get_config()
    c.model.student.size = "tiny"
    c.steps = 6
    c.log_every = 2
    c.eval_every = 100
    c.checkpoint_every = 2
    c.data.crop_size = 16
    c.data.batch_size = 4
    c.data.worker_count = 0  # in-process input: the GPU recipe's 8 workers would crowd 2 cores
    c.loss.distill_lambda = 0.0
    c.loss.teacher = ""
    # No warmup, so that every step moves the parameters well beyond the parity tolerance.
    # Adam turns a gradient whose true value is 0 (here: the L1 sign sums of the tail bias, at init) into
    # lr * rounding noise / eps: 1e-3 * 1e-10 / 1e-8 = 1e-5, the size of the tolerance itself. With eps 1e-6 the
    # parity checks compare the sharding, not Adam's amplification of float32 summation order.
    c.optim.warmup_steps = 0
    c.optim.lr = 1e-3
    c.optim.eps = 1e-6
    return c
