"""jaxsharp: a SwinIR teacher in Flax distilled into a small, fast CNN sharpener.

Pipeline (one module each): data -> degrade -> teacher -> student -> train -> evaluate -> infer.
Images inside the code are NHWC float32 in [0, 1]; uint8/uint16 appear only at file edges (image_io).
"""

__version__ = "0.1.0"
