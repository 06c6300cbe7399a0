"""Compatibility re-export: ``unitrack eval-mot`` moved to :mod:`unitrack.cli.eval_mot`."""

import sys

from ..cli.eval_mot import add_parser, main, run  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
