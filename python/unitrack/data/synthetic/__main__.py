"""``python -m unitrack.data.synthetic --out DIR``: generate the synthetic benchmark."""
from __future__ import annotations

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
