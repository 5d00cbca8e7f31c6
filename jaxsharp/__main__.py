"""`python -m jaxsharp` is the `jaxsharp` command."""

import sys

from jaxsharp.cli import main

sys.exit(main())
