"""The re-parameterised student: SESR's collapsible linear blocks (and ECBSR's edge branches) trained expanded,
shipped as a plain conv stack.

    config = ReparamConfig.from_size("m5", scale=2, mode="sharpen")    # sizes: SIZES (m3, m5, m11, xl)
    model = build(config, rngs=nnx.Rngs(0))                             # the training form; untrained = residual
    deployed = collapse_student(model)                                  # one k x k conv per block
    save("export/m5_x2", model, config)                                 # writes the collapsed network
    loaded = jaxsharp.models.load("export/m5_x2")                       # a LoadedReparamStudent

Registered in jaxsharp.models as family "reparam" (config.model.kind "reparam", fields in config.model.reparam).
`python -m jaxsharp.student_reparam.info` prints parameters and FLOPs per 1080p frame of every size.
"""

from jaxsharp.student_reparam.config import SIZES, ReparamConfig
from jaxsharp.student_reparam.loading import LoadedReparamStudent, load, save, training_spec
from jaxsharp.student_reparam.model import CollapsedStudent, ReparamStudent, build, collapse_student, num_params

__all__ = ["SIZES", "ReparamConfig", "ReparamStudent", "CollapsedStudent", "build", "collapse_student", "num_params",
           "LoadedReparamStudent", "save", "load", "training_spec"]
