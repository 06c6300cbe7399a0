"""Task heads (level 3): one module per task, each a small stateful object on top of the primitives.

Propagation heads (``init`` / ``track`` per frame, ``run`` over a sequence): :mod:`~unitrack.heads.sot` (XCorr, DCF),
:mod:`~unitrack.heads.vos`, :mod:`~unitrack.heads.poseprop`. Association heads (``update`` per frame,
``track_frames`` over a sequence): :mod:`~unitrack.heads.mot`, :mod:`~unitrack.heads.mots`,
:mod:`~unitrack.heads.posetrack`. Shared plumbing (stage timers, frame loading, letterboxing): ``_common``.

A head takes a representation and frames (plus its task's initial state or detections) and returns per-frame
outputs: it reads no dataset, computes no metric and parses no argument. Dataset runs live in
:mod:`unitrack.evaluation.adapters`, the command line in :mod:`unitrack.cli`; the few old names that pointed here
(``run_davis``, ``run_jhmdb``, ``run_otb``, ``evaluate_otb``, ``track_mot``, ``track_mots``, ``track_posetrack``, the
association heads' ``run`` on a dataset folder) are compatibility re-exports of those.
"""
