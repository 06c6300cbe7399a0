"""Compatibility re-export: ``unitrack eval`` moved to :mod:`unitrack.cli.eval`."""

from ..cli.eval import DATASET_OPTIONS, _group_errors, add_parser, default_models, model_specs  # noqa: F401
