"""A faster `tiny`: space-to-depth blocks of 4 instead of 2 (experiments/student_tiny_x2_cpu_nokd.py otherwise).

    python -m jaxsharp.train --config experiments/student_tiny4_x2_cpu_nokd.py --accelerator cpu --config.seed=0

Why: on the 2-core CPU the block-2 tiny (16 channels, 4 convs, 8.4 GFLOP per 1080p frame) runs its convs at
~50 GFLOP/s, half of what XLA reaches on wider ones, and misses 10 FPS at 1080p. Folding 4x4 blocks gives the
convs 48 input channels on a quarter of the pixels: 32 channels x 3 convs is 9.5 GFLOP per frame at up to
~105 GFLOP/s. Same data, schedule, steps and seed as the tiny recipe, so the two compare.

Result (2026-11-26, 1,000 steps, ~10 steps/s on the 2 shared CPU cores, seed 0; not shipped):
    python -m jaxsharp.evaluate --method student --weights runs/tiny4_c32n3_s0/export --mode sharpen --scale 2 \
        --sets Set5,Set14,B100
| student (block, channels x convs) | Set5 | Set14 | B100 | GFLOP / 1080p frame | 1080p FPS, 2-core CPU, 3 bench runs |
|---|---|---|---|---|---|
| tiny (2, 16 x 4), the shipped one, same recipe | 36.05 | 32.09 | 30.99 | 8.4 | 6.1 / 5.9 / 6.1 |
| this config (4, 32 x 3) | 35.12 | 31.43 | 30.52 | 9.5 | 11.0 / 10.6 / 8.9 |
| --config.model.student.channels=24 --config.model.student.num_convs=4 (4, 24 x 4) | 35.15 | 31.41 | 30.50 | 8.1 | 10.1 / 9.4 / 9.1 |
FPS: `python -m jaxsharp.bench --json bench.json --student runs/tiny4_c32n3_s0/export --student
runs/tiny4_c24n4_s0/export` (float32, batch 1), run three times on the shared machine: the runs differ by up to
20%, so "10 FPS" is met in two runs of three. About 1.6x the frame rate for 0.5-0.9 dB: at this training budget
the block-2 tiny is the better model, so it stays the shipped one; `space_to_depth` stays in StudentConfig.
"""

import ml_collections

from jaxsharp.configs import common


def get_config() -> ml_collections.ConfigDict:
    c = common.get_config()
    # space-to-depth blocks of 4, 32 channels x 3 convs: the only change from student_tiny_x2_cpu_nokd
    c.model.student = ml_collections.ConfigDict({"size": "tiny", "channels": 32, "num_convs": 3, "space_to_depth": 4})
    c.steps = 1_000
    c.data.train_dirs = ("train/T91",)
    c.data.worker_count = 0
    c.optim.warmup_steps = 50
    c.log_every = 50
    c.eval_every = 1_000
    c.checkpoint_every = 250
    c.loss.distill_lambda = 0.0
    c.loss.teacher = ""
    return c
