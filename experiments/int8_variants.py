"""Int8 variants tried on a re-parameterised (Y-body) student, beside `jaxsharp quantize`'s default (issue 16):
why neither shipped re-parameterised student has an int8 graph.

    python experiments/int8_variants.py MODEL     # a shipped name or an export folder; Set5 delta per variant

Each variant is `jaxsharp.quantize.quantize_graph` (QDQ, per-channel int8 weights, uint8 activations, MinMax on
the 8 calibration images) with one change, scored by `quantize.measure_quality` against the float32 graph in
ONNX Runtime through the same engine. Result (2026-12-06, on the first small candidate, 16 channels x 11 blocks,
runs/student_reparam_small_m11_x2/export on the machine that trained it; experiments/student_reparam_small_x2.py
names its overrides): see the README's Backends section.
"""

import argparse

import onnx

from jaxsharp import models, onnxruntime_backend, paths, quantize


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model")
    args = p.parse_args()
    model = models.load(args.model)
    graph = onnxruntime_backend.float32_graph(model)[0]
    convs = [n.name for n in onnx.load_from_string(graph).graph.node if n.op_type == "Conv"]
    inputs = quantize.calibration_inputs(model, quantize.calibration_files(paths.data_root()))
    variants = {
        "default (reduce_range, every op)": {},
        "convolutions only": {"op_types_to_quantize": ["Conv"]},
        "first and last convolution in float32": {"nodes_to_exclude": [convs[0], convs[-1]]},
        "8-bit weights (no reduce_range)": {"reduce_range": False},
    }
    for label, options in variants.items():
        rows = quantize.measure_quality(model, quantize.quantize_graph(graph, inputs, **options), ["Set5"],
                                        paths.data_root())
        print(f"{label}: Set5 {rows[0]['delta_db']:+.3f} dB")


if __name__ == "__main__":
    main()
