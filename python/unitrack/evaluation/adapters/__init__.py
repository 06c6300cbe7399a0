"""Evaluation adapters, one module per task (the same names as :mod:`unitrack.heads`): how to list a dataset's
sequences, run the task's head on one sequence (reading the dataset's files with :mod:`unitrack.data` and writing
the standard-format outputs) and score a set of outputs with :mod:`unitrack.metrics`.

Every adapter is a :class:`unitrack.evaluation.tasks.TaskAdapter`; the task table :data:`unitrack.tasks.TASKS` says
which adapter serves which task. The file-level runs the heads used to carry (``run_otb``, ``run_davis``,
``run_jhmdb``, ``track_mot``, ``track_mots``, ``track_posetrack`` and the dataset-folder ``run`` of the association
heads) live here, next to the adapter of their task.
"""
