"""Work items of the evaluation platform: (representation x task x sequence), pure and idempotent.

A :class:`WorkItem` holds only strings and plain data (a model spec understood by
:func:`unitrack.model.build_model`, a task name, a dataset root, a sequence name and the task config), so it can be
pickled to a process pool or a Ray cluster and retried. :func:`execute_item` runs it and writes its result folder::

    <out_root>/items/<model_slug>[__<precision>]/<task>/<sequence>/
        item.json      status ("ok" | "error"), precision, timings, error message, config hash
        ...            the task's raw outputs in the standard format (e.g. <seq>.txt, PNG masks, json)

An item whose ``item.json`` says ``ok`` with the same config hash is skipped on re-runs. The folder is written as
``.<sequence>.partial-<pid>`` and renamed into place when the item ends (ok or error), so an interrupted run
(Ctrl-C, a killed worker) leaves no half-written item folder and never damages a finished one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import time
import traceback
from typing import Any, Callable, Dict, Optional

ITEM_FILE = "item.json"


def config_hash(config: Dict[str, Any]) -> str:
    """Stable short hash of a JSON-serialisable config."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def slug(text: str) -> str:
    """Filesystem-safe name for a model spec or sequence."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")
    return s or "unnamed"


@dataclasses.dataclass(frozen=True)
class WorkItem:
    model: str
    task: str
    sequence: str
    data_root: str
    config_json: str = "{}"
    #: the numeric precision of the model and head (:mod:`unitrack.model.precision`)
    precision: str = "fp32"

    @property
    def config(self) -> Dict[str, Any]:
        return json.loads(self.config_json)

    @property
    def hash(self) -> str:
        key = {
            "model": self.model,
            "task": self.task,
            "data_root": os.path.abspath(self.data_root),
            "sequence": self.sequence,
            "config": self.config,
        }
        if self.precision != "fp32":  # fp32 items keep the hashes they had before precisions existed
            key["precision"] = self.precision
        return config_hash(key)

    @property
    def model_key(self) -> str:
        """The model cache key: the spec, with ``@<precision>`` unless fp32."""
        return model_key(self.model, self.precision)

    def out_dir(self, out_root: str) -> str:
        name = slug(self.model) + ("" if self.precision == "fp32" else f"__{self.precision}")
        return os.path.join(out_root, "items", name, self.task, slug(self.sequence))


def model_key(model: str, precision: str = "fp32") -> str:
    """``spec`` for fp32, ``spec@bf16`` otherwise: one built model per (spec, precision) in a model cache."""
    return model if precision == "fp32" else f"{model}@{precision}"


def item_status(item: WorkItem, out_root: str) -> Optional[Dict[str, Any]]:
    """The recorded result of ``item`` if it finished successfully with the same config, else None."""
    path = os.path.join(item.out_dir(out_root), ITEM_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            rec = json.load(f)
    except (OSError, ValueError):
        return None
    if rec.get("status") == "ok" and rec.get("hash") == item.hash:
        return rec
    return None


def _write_json_atomic(path: str, obj: Any) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=str)
    os.replace(tmp, path)


# What a task adapter's run is (unitrack.evaluation.tasks.TaskAdapter.run): (model, item, out_dir) -> timings/info.
TaskRunner = Callable[[Any, WorkItem, str], Dict[str, Any]]


def execute_item(
    item: WorkItem, out_root: str, *, model_cache: Optional[dict] = None, force: bool = False, device: str = "cpu"
) -> Dict[str, Any]:
    """Run one work item (or return its recorded result). Never raises for task failures: they are recorded.

    Returns the item record: ``{"model", "task", "sequence", "status", "hash", "seconds", "timings", "error"}``.
    """
    from .tasks import get_task

    if not force:
        done = item_status(item, out_root)
        if done is not None:
            done["skipped"] = True
            return done
    from unitrack.data._atomic import atomic_dir

    out_dir = item.out_dir(out_root)
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    rec: Dict[str, Any] = {
        "model": item.model,
        "task": item.task,
        "sequence": item.sequence,
        "precision": item.precision,
        "hash": item.hash,
        "data_root": os.path.abspath(item.data_root),
        "config": item.config,
    }
    t0 = time.perf_counter()
    with atomic_dir(out_dir) as tmp:  # KeyboardInterrupt / SystemExit: the partial folder is removed, then re-raised
        try:
            task = get_task(item.task)
            if model_cache is not None and item.model_key in model_cache:
                model = model_cache[item.model_key]
            else:
                from unitrack.model import build_model

                model = build_model(item.model, device=device, precision=item.precision)
                if model_cache is not None:
                    model_cache[item.model_key] = model
            info = task.run(model, item, os.fspath(tmp))
            rec.update(
                status="ok", timings=info.get("timings", {}), info={k: v for k, v in info.items() if k != "timings"}
            )
        except Exception as exc:  # a crash in one item is recorded, not propagated (the others' results survive)
            rec.update(status="error", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=8))
        rec["seconds"] = time.perf_counter() - t0
        _write_json_atomic(os.path.join(tmp, ITEM_FILE), rec)
    rec["skipped"] = False
    return rec
