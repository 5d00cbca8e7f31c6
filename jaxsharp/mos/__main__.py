"""`python -m jaxsharp.mos` is `jaxsharp mos`."""

import sys

from jaxsharp.mos.cli import main

sys.exit(main())
