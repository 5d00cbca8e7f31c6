"""`python -m jaxsharp.port` is `python -m jaxsharp.port.swinir_torch` (the `jaxsharp port` command)."""

import sys

from jaxsharp.port.swinir_torch import main

sys.exit(main(prog="python -m jaxsharp.port"))
