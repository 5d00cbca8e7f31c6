"""jaxsharp: a SwinIR teacher in Flax distilled into a small, fast CNN sharpener.

Pipeline (one module each): data -> degrade -> teacher -> student -> train -> evaluate -> infer (models.py: any
model by name or path; engine.py: how every model runs on images).
Images inside the code are NHWC float32 in [0, 1]; uint8/uint16 appear only at file edges (image_io).

    model = jaxsharp.load("student-small")                # any model by name or path (jaxsharp.models)
    teacher = jaxsharp.load("teacher")                    # the shipped SwinIR teacher; model.apply is pure
    out = jaxsharp.sharpen(images, model=model, batch=8)  # list of HWC or NHWC float in [0, 1]

The names below are imported on first use (PEP 562), so `import jaxsharp` does not import JAX.
"""

import importlib

__version__ = "0.1.0"

# attribute -> (module, name in it); name None: the module itself.
_LAZY = {
    "load": ("jaxsharp.models", "load"),
    "models": ("jaxsharp.models", None),
    "load_student": ("jaxsharp.models", "load"),  # the older name of `load`
    "sharpen": ("jaxsharp.infer", "sharpen"),
    "Sharpener": ("jaxsharp.engine", "Sharpener"),
    "student": ("jaxsharp.student", None),
    "teacher": ("jaxsharp.teacher", None),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'jaxsharp' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
