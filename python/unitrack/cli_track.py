"""Compatibility re-export: ``unitrack track`` moved to :mod:`unitrack.cli.track`."""

from .cli.track import SOT_COLOR, TASKS, add_parser, default_model_spec, parse_box, read_joints

__all__ = ["add_parser", "default_model_spec", "parse_box", "read_joints", "SOT_COLOR", "TASKS"]
