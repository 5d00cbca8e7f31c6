"""Student `tiny` (16 channels, 4 convs), x2 sharpen, distilled on the CPU from the CPU-trained SwinIR-S teacher
(experiments/teacher_swinir_s_x2_cpu.py, shipped as jaxsharp/assets/teachers/swinir_s_x2): the distillation arm of
the seed pairs that experiments/kd_seed_pairs.py runs against experiments/student_tiny_x2_cpu_nokd.py.

    python -m jaxsharp.train --config experiments/student_tiny_x2_cpu.py --accelerator cpu --config.seed=0

Recipe: experiments/student_tiny_x2.py (T91, batch 16 of 96-px crops, L1 + 1.0 x L1 to the x8 self-ensembled teacher
outputs, Adam 1e-3 cosine) cut to 1,000 steps, which a 2-core CPU runs in a few minutes, so that 3 seed pairs fit
one session. The teacher's outputs on T91 are cached once (runs/kd_seed_pairs/teacher_cache) and shared by every
seed.

Result: see experiments/kd_seed_pairs.py (its docstring has the table, mean and spread of the gain).
"""

from jaxsharp.configs import common


def get_config():
    c = common.get_config()
    c.model.student.size = "tiny"
    # student_tiny_x2's recipe cut to 1,000 steps on T91, distilled from the shipped SwinIR-S teacher
    c.steps = 1_000
    c.data.train_dirs = ("train/T91",)  # as run; the GPU recipes add BSDS500_test
    c.data.worker_count = 0
    c.optim.warmup_steps = 50
    c.log_every = 50
    c.eval_every = 1_000
    c.checkpoint_every = 250
    c.loss.teacher = "jaxsharp/assets/teachers/swinir_s_x2"
    return c
