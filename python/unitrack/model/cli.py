"""Compatibility re-export: ``unitrack models`` moved to :mod:`unitrack.cli.models`."""

from ..cli.models import add_parser  # noqa: F401
