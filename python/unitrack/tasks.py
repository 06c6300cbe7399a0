"""The task table: the six tasks of the framework, written once.

Every part that needs the list of tasks reads :data:`TASKS`: the command line (``unitrack track <task>``,
``unitrack eval --tasks`` and its dataset options ``--otb`` ... ``--posetrack``), the evaluation platform (which
task adapter runs and scores a task, :func:`unitrack.evaluation.tasks.get_task`) and the synthetic benchmark (the
dataset folder and format of each task, and the order of its per-task random streams).

Each entry names its evaluation adapter by import path (``"module:Class"``); the adapter is a
:class:`unitrack.evaluation.tasks.TaskAdapter` and is imported only when a task is run, so this table sits on the
lowest floor and imports nothing of the framework.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Task", "TASKS", "TASK_NAMES", "get"]


@dataclass(frozen=True)
class Task:
    """One task of the framework.

    Attributes:
        name: the task's name on the command line and in results (``"sot"``).
        title: one line for help texts.
        primitive: ``"propagation"`` or ``"association"`` (the paper's two primitives).
        folder: the dataset folder name: the task's folder in the synthetic benchmark (``<out>/otb``) and the
            ``unitrack eval`` option naming a dataset root (``--otb``).
        data_format: the standard dataset layout the task reads and the synthetic benchmark writes.
        adapter: ``"module:Class"`` of the evaluation adapter (sequences / run / evaluate).
    """

    name: str
    title: str
    primitive: str
    folder: str
    data_format: str
    adapter: str

    @property
    def option(self) -> str:
        """The ``unitrack eval`` option of the task's dataset root (``"--otb"``)."""
        return f"--{self.folder}"


_ADAPTERS = "unitrack.evaluation.adapters"

#: The tasks in their canonical order (tables, reports and the synthetic benchmark's random streams follow it).
TASKS: tuple[Task, ...] = (
    Task(
        "sot",
        "single object tracking: XCorr and DCF heads",
        "propagation",
        "otb",
        "OTB-2015 (pysot json)",
        f"{_ADAPTERS}.sot:SOTTask",
    ),
    Task(
        "vos",
        "video object segmentation by mask propagation",
        "propagation",
        "davis",
        "DAVIS-2017",
        f"{_ADAPTERS}.vos:VOSTask",
    ),
    Task(
        "poseprop",
        "pose propagation (JHMDB protocol)",
        "propagation",
        "jhmdb",
        "JHMDB (joint_positions.mat)",
        f"{_ADAPTERS}.poseprop:PosePropTask",
    ),
    Task(
        "mot",
        "multi-object tracking of detected boxes",
        "association",
        "mot",
        "MOTChallenge (MOT17)",
        f"{_ADAPTERS}.mot:MOTAdapter",
    ),
    Task(
        "mots",
        "multi-object tracking and segmentation of instance masks",
        "association",
        "mots",
        "MOTSChallenge (COCO RLE txt)",
        f"{_ADAPTERS}.mots:MOTSAdapter",
    ),
    Task(
        "posetrack",
        "multi-person pose tracking",
        "association",
        "posetrack",
        "PoseTrack-18 json",
        f"{_ADAPTERS}.posetrack:PoseTrackAdapter",
    ),
)

#: The task names in canonical order.
TASK_NAMES: tuple[str, ...] = tuple(t.name for t in TASKS)

_BY_NAME = {t.name: t for t in TASKS}


def get(name: str) -> Task:
    """The :class:`Task` called ``name``; ValueError naming the known tasks otherwise."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown task {name!r}; expected one of {', '.join(TASK_NAMES)}") from None
