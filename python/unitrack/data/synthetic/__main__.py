"""``python -m unitrack.data.synthetic --out DIR``: generate the synthetic benchmark (the command line is
:mod:`unitrack.cli.synth`)."""

from __future__ import annotations

import sys

from unitrack.cli.synth import main

if __name__ == "__main__":
    sys.exit(main())
