"""A quick 1080p frame-rate check of the trained re-parameterised students beside the shipped plain ones (not the
bench: no JSON, no baselines; the bench run the issue asks for is still to do).

    python experiments/reparam_fps_quick.py

XLA, float32, batch 1, one random 1920x1080 frame through each model's engine call, 4 interleaved rounds (2 for
the slow plain small), median.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxsharp import models

NAMES = ["experiments/weights/student_reparam_tiny_x2", "experiments/weights/student_reparam_small_x2",
         "student_tiny_x2", "student_small_x2"]

x = jnp.asarray(np.random.default_rng(0).random((1, 1080, 1920, 3), np.float32))
loaded = {n: models.load(n) for n in NAMES}
for m in loaded.values():
    jax.block_until_ready(m(x))
times = {n: [] for n in loaded}
for rnd in range(4):
    for n, m in loaded.items():
        if n == "student_small_x2" and rnd > 1:
            continue
        start = time.perf_counter()
        jax.block_until_ready(m(x))
        times[n].append(time.perf_counter() - start)
for n, t in times.items():
    print(f"{n}: {1 / np.median(t):.2f} FPS at 1080p (median of {len(t)})")
