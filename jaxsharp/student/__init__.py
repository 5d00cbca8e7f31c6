"""The student: a family of small residual CNNs that sharpen (or upscale) frames in real time.

    config = StudentConfig.from_size("small", scale=2, mode="sharpen")   # sizes: SIZES (tiny, small, base)
    model = build(config, rngs=nnx.Rngs(0))                              # an nnx.Module; untrained = residual
    save("export/small_x2", model, config)                                # config.json + params.npz
    loaded = load("export/small_x2")                                      # shipped ones: jaxsharp.models.load
    y = loaded(x)                                                         # jitted; loaded.apply(params, x) is pure

`python -m jaxsharp.student.info` prints parameters and FLOPs per 1080p frame of every size.
"""

from jaxsharp.student.config import SIZES, StudentConfig
from jaxsharp.student.loading import LoadedStudent, load, save, training_spec
from jaxsharp.student.model import Student, build, num_params

__all__ = ["SIZES", "StudentConfig", "Student", "build", "num_params", "LoadedStudent", "save", "load",
           "training_spec"]
