"""Task adapters of the evaluation platform: how to list, run and score one task's sequences.

Each adapter implements::

    sequences(data_root) -> list[str]
    run(model, item: WorkItem, out_dir) -> {"timings": {stage: ms per frame}, ...}   (writes standard-format outputs)
    evaluate(data_root, {sequence: out_dir}) -> {metric: value}                       (the Table-1 numbers)
"""
from __future__ import annotations

from typing import Dict

_TASKS: Dict[str, object] = {}
_BUILTIN_LOADED = False


def register_task(name: str, adapter: object) -> None:
    """Register (or replace) the adapter of task ``name``."""
    _TASKS[name] = adapter


def get_task(name: str):
    _load_builtin()
    if name not in _TASKS:
        raise ValueError(f"unknown task {name!r}; expected one of {', '.join(sorted(_TASKS)) or '(none registered)'}")
    return _TASKS[name]


def _load_builtin() -> None:
    # Adapters import their heads lazily; registering them is cheap. Runs once, whatever was registered before.
    global _BUILTIN_LOADED
    if _BUILTIN_LOADED:
        return
    _BUILTIN_LOADED = True
    from . import task_adapters  # noqa: F401
