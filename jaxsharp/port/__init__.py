"""Ports of other frameworks' files into jaxsharp's models, with no dependency on those frameworks.

- `torch_pickle`: torch-free, allowlisted reader of `torch.save` files into numpy arrays.
- `swinir_torch`: the official SwinIR PyTorch weights -> `jaxsharp.teacher` (name map, converter, `load_teacher`,
  and the `jaxsharp port X.pth --out DIR` command, also `python -m jaxsharp.port`).
- `parity_report`: how far the Flax SwinIR is from the official model on the reference fixtures.

This package imports `jaxsharp.teacher`; `jaxsharp.teacher` never imports it (tests/test_import_graph.py).
Importing the package itself imports nothing.
"""
