"""The evaluation platform: representations x tasks x sequences -> one table (see :func:`evaluate`)."""

from .platform import ALL_TASKS, evaluate, parse_tasks
from .runners import run_items, run_local, run_ray
from .workitems import WorkItem, execute_item

__all__ = ["ALL_TASKS", "evaluate", "parse_tasks", "run_items", "run_local", "run_ray", "WorkItem", "execute_item"]
