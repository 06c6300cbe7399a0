"""Compatibility re-export: the shared CLI machinery moved to :mod:`unitrack.cli.common`."""

from .cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    USER_ERRORS,
    CLIError,
    available_devices,
    check_device,
    check_output_dir,
    error,
    one_line,
    partial_dir,
    partial_file,
    run_command,
    warn,
)

__all__ = [
    "CLIError",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "EXIT_FAILED",
    "USER_ERRORS",
    "available_devices",
    "check_device",
    "check_output_dir",
    "error",
    "one_line",
    "partial_dir",
    "partial_file",
    "run_command",
    "warn",
]
