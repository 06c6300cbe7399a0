"""Runners execute work items: in-process (``local``) or on a Ray cluster (``ray``, optional extra).

Both produce the same item records and result folders, so the aggregated table does not depend on the runner.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from tqdm.auto import tqdm

from .workitems import WorkItem, execute_item


def run_local(
    items: Sequence[WorkItem],
    out_root: str,
    *,
    progress: bool = True,
    force: bool = False,
    device: str = "cpu",
    model_cache: Optional[dict] = None,
) -> List[Dict[str, Any]]:
    """Run items one after another in this process (models are built once per spec and reused; ``model_cache``
    ``{spec: model}`` may hold them already)."""
    cache: dict = model_cache if model_cache is not None else {}
    records = []
    bar = tqdm(items, desc="work items", unit="item", disable=not progress)
    for item in bar:
        bar.set_postfix_str(f"{item.task}/{item.sequence}"[:40])
        records.append(execute_item(item, out_root, model_cache=cache, force=force, device=device))
    return records


def _ray_execute(item_dict: Dict[str, Any], out_root: str, force: bool, device: str) -> Dict[str, Any]:
    # Module-level so Ray can pickle it by reference; threads are capped so tasks packed on one node don't thrash.
    import torch

    torch.set_num_threads(1)
    return execute_item(WorkItem(**item_dict), out_root, model_cache=_ray_execute.cache, force=force, device=device)


_ray_execute.cache = {}  # type: ignore[attr-defined]  (per worker process)


def run_ray(
    items: Sequence[WorkItem],
    out_root: str,
    *,
    address: Optional[str] = None,
    progress: bool = True,
    force: bool = False,
    device: str = "cpu",
    num_cpus: Optional[int] = None,
    max_retries: int = 1,
) -> List[Dict[str, Any]]:
    """Distribute items over a Ray cluster (``address=None`` starts a local Ray instance).

    Items are pure (paths and configs in, a result folder out), so Ray may retry them; ``out_root`` must be on a
    filesystem shared by all nodes.
    """
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise RuntimeError(
            "--runner ray needs Ray, the optional ray extra: pip install --no-build-isolation -e "
            "'.[ray]' (or pip install ray)"
        ) from exc
    import dataclasses

    started_here = False
    if not ray.is_initialized():
        kwargs: Dict[str, Any] = {"ignore_reinit_error": True, "log_to_driver": False, "include_dashboard": False}
        if address:
            kwargs["address"] = address
        elif num_cpus:
            kwargs["num_cpus"] = num_cpus
        ray.init(**kwargs)
        started_here = True
    try:
        remote = ray.remote(num_cpus=1, max_retries=max_retries)(_ray_execute)
        refs = [remote.remote(dataclasses.asdict(it), out_root, force, device) for it in items]
        records: List[Dict[str, Any]] = [None] * len(refs)  # type: ignore[list-item]
        index = {ref: i for i, ref in enumerate(refs)}
        pending = list(refs)
        with tqdm(total=len(refs), desc="work items (ray)", unit="item", disable=not progress) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    i = index[ref]
                    try:
                        records[i] = ray.get(ref)
                    except Exception as exc:  # worker died: record it like an item failure
                        it = items[i]
                        records[i] = {
                            "model": it.model,
                            "task": it.task,
                            "sequence": it.sequence,
                            "status": "error",
                            "error": f"ray: {type(exc).__name__}: {exc}",
                        }
                    bar.update(1)
        return records
    finally:
        if started_here:
            ray.shutdown()


def run_items(
    items: Sequence[WorkItem],
    out_root: str,
    *,
    runner: str = "local",
    address: Optional[str] = None,
    progress: bool = True,
    force: bool = False,
    device: str = "cpu",
    model_cache: Optional[dict] = None,
) -> List[Dict[str, Any]]:
    """Run ``items`` with the ``local`` or ``ray`` runner; ``model_cache`` (local runner only) ``{spec: model}``."""
    if runner == "local":
        return run_local(items, out_root, progress=progress, force=force, device=device, model_cache=model_cache)
    if runner == "ray":
        return run_ray(items, out_root, address=address, progress=progress, force=force, device=device)
    raise ValueError(f"runner must be 'local' or 'ray', got {runner!r}")
