"""Task adapters of the evaluation platform: how to list, run and score one task's sequences.

Each adapter implements::

    sequences(data_root) -> list[str]
    run(model, item: WorkItem, out_dir) -> {"timings": {stage: ms per frame}, ...}   (writes standard-format outputs)
    evaluate(data_root, {sequence: out_dir}) -> {metric: value}                       (the Table-1 numbers)
"""
from __future__ import annotations

from typing import Dict

_TASKS: Dict[str, object] = {}


def register_task(name: str, adapter: object) -> None:
    _TASKS[name] = adapter


def get_task(name: str):
    if not _TASKS:
        _load_builtin()
    if name not in _TASKS:
        raise ValueError(f"unknown task {name!r}; expected one of {', '.join(sorted(_TASKS)) or '(none registered)'}")
    return _TASKS[name]


def _load_builtin() -> None:
    # Adapters import their heads lazily; registering them is cheap.
    from . import task_adapters  # noqa: F401
