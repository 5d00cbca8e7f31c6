"""`student_real_x2`: the shipped small student's network (experiments/student_reparam_small_x2.py, 24 ch x 5
blocks, Y body) trained on the product's mix of real blur (`real_mix`, jaxsharp/degrade_realistic/pipelines.py:
camera blur / defocus / shake with noise and JPEG, low-bitrate H.264 / HEVC streams, bicubic, untouched pictures
and the Real-ESRGAN / BSRGAN chains) instead of bicubic alone (issue 18).

    python -m jaxsharp.train --config experiments/student_real_x2.py --accelerator cpu
    python -m jaxsharp.evaluate --realistic --sets val ...   (see experiments/results and the README's table)

Same recipe as the bicubic student it is compared with (T91 + BSDS500_test less the validation images, 64-px
crops, batch 32, L1 to the clean image, Adam 5e-4, cosine, 16,000 steps, seed 0): the only change is the
degradation, so the per-family table isolates what the training blur buys.
"""

from jaxsharp.configs import common


def get_config():
    c = common.get_config()
    c.model.kind = "reparam"
    c.model.reparam.channels = 24
    c.model.reparam.num_blocks = 5
    c.model.reparam.color = "y"
    c.model.reparam.head_kernel = 3
    c.steps = 16_000
    c.log_every = 200
    c.eval_every = 4_000
    c.checkpoint_every = 1_000
    c.data.holdout_validation = True
    c.data.degradation = "real_mix_b25"  # chosen over real_mix on val (docstring)
    c.data.crop_size = 64
    c.data.batch_size = 32
    c.data.worker_count = 0  # 2 cores: in-process input (one worker process measured no faster: 5.6 vs 5.2 steps/s)
    c.optim.lr = 5e-4
    c.optim.warmup_steps = 100
    c.loss.distill_lambda = 0.0
    c.loss.teacher = ""
    c.eval.sets = ("val",)
    return c
