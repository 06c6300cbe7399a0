"""Task adapters of the evaluation platform: how to list, run and score one task's sequences.

The built-in adapters are the ones the task table :data:`unitrack.tasks.TASKS` names (one module per task in
:mod:`unitrack.evaluation.adapters`); :func:`get_task` imports a task's adapter when it is first asked for. Nothing
registers itself at import time. :func:`register_task` adds (or replaces) an adapter explicitly, e.g. a custom task
or a test double.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Protocol, runtime_checkable

from .. import tasks as task_table

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .workitems import WorkItem

__all__ = ["TaskAdapter", "get_task", "register_task", "task_names"]


@runtime_checkable
class TaskAdapter(Protocol):
    """What the platform needs from a task::

    sequences(data_root) -> list[str]
    run(model, item: WorkItem, out_dir) -> {"timings": {stage: ms per frame}, ...}   (writes standard-format outputs)
    evaluate(data_root, {sequence: out_dir}) -> {metric: value}                       (the Table-1 numbers)
    """

    def sequences(self, data_root: str) -> List[str]:
        """The sequence names of the dataset under ``data_root``."""
        ...

    def run(self, model: Any, item: "WorkItem", out_dir: str) -> Dict[str, Any]:
        """Run ``model`` on ``item.sequence``, write the standard-format outputs under ``out_dir``, return
        ``{"timings": {stage: ms per frame}, ...}``."""
        ...

    def evaluate(self, data_root: str, outputs: Mapping[str, str]) -> Dict[str, Any]:
        """Score ``{sequence: out_dir}`` against the dataset's ground truth: ``{metric: value}``."""
        ...


_ADAPTERS: Dict[str, TaskAdapter] = {}


def register_task(name: str, adapter: TaskAdapter) -> None:
    """Use ``adapter`` for task ``name`` (a task of the table or a custom one); replaces an earlier one."""
    if not isinstance(adapter, TaskAdapter):
        raise TypeError(
            f"task {name!r}: the adapter must have sequences, run and evaluate methods "
            f"(unitrack.evaluation.tasks.TaskAdapter), got {type(adapter).__name__}"
        )
    _ADAPTERS[name] = adapter


def _load(task: task_table.Task) -> TaskAdapter:
    module, _, cls = task.adapter.partition(":")
    adapter = getattr(importlib.import_module(module), cls)()
    if not isinstance(adapter, TaskAdapter):  # pragma: no cover - a broken table entry
        raise TypeError(f"task {task.name!r}: {task.adapter} is not a TaskAdapter")
    return adapter


def get_task(name: str) -> TaskAdapter:
    """The adapter of task ``name``: a registered one, else the one the task table names (imported once)."""
    if name not in _ADAPTERS:
        if name not in task_table.TASK_NAMES:
            raise ValueError(f"unknown task {name!r}; expected one of {', '.join(task_names())}")
        _ADAPTERS[name] = _load(task_table.get(name))
    return _ADAPTERS[name]


def task_names() -> List[str]:
    """The table's tasks in canonical order, then registered custom tasks."""
    return list(task_table.TASK_NAMES) + sorted(n for n in _ADAPTERS if n not in task_table.TASK_NAMES)
