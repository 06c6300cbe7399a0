"""Checkpoint reading, layout detection and partial loading (SPEC §1.2, §9 item 1, torch.load notes).

Formats (``weights_format``) and where the backbone lives in the file:

============  ==============================  ==========================  ============================================
format        container                       key prefix stripped          notes
============  ==============================  ==========================  ============================================
torchvision   flat state dict                 (none; ``module.`` too)     ImageNet weights; ``fc.*`` skipped
ssl           flat state dict                 (none; ``module.`` too)     ssl-transfer conversions (BYOL, SwAV, ...)
crw           ``ckpt["model"]``               ``encoder.model.``          skip_keys ``["head"]``; ``conv1.1.weight``
                                                                          fix applied after stripping (see below)
mocov2        ``ckpt["state_dict"]``          ``module.encoder_q.``       MLP head ``fc.0/fc.2`` skipped
ssib          flat state dict                 ``module.encoder.``
uvc           ``ckpt["state_dict"]``          ``module.gray_encoder.``
timecycle     ``ckpt["state_dict"]``          ``module.encoderVideo.``    5-D conv weights with temporal size 1 are
                                                                          squeezed to 4-D
============  ==============================  ==========================  ============================================

``"auto"`` finds the ResNet stem: the prefix ``P`` for which both ``P + "conv1.weight"`` and
``P + "layer1.0.conv1.weight"`` exist, in ``ckpt["state_dict"]``, ``ckpt["model"]`` or the top level, and maps ``P``
to a format. An unknown layout raises a ValueError that lists the top-level entries and sample keys found.

Partial-load semantics (as the reference's ``partial_load``): keep the checkpoint entries, after renaming, whose key
exists in the model and contains none of ``skip_keys``; a shape mismatch on a kept key raises. Unlike the reference,
what happened is reported in a :class:`LoadReport` (loaded / skipped / missing / unexpected), parameters the file does
not provide are reported (and warned about), a file that matches nothing is an error, and a checkpoint of another
architecture is an error naming the architecture found.

``torch.load`` policy: always ``map_location="cpu"`` and ``weights_only=True``. If that refuses the file because it
pickles Python objects, and every such object is on a small allow-list (``argparse.Namespace``, as CRW checkpoints
store their training arguments; numpy scalars and dtypes), it is loaded again with those classes allowed through the
scoped ``torch.serialization.safe_globals`` context (no global registration). Anything else is refused with a
RuntimeError naming the objects; pass ``trust_checkpoint=True`` (CLI: append ``@trust`` to the model spec, e.g.
``--model resnet50:/ckpt/old.pth@trust``) to load such a file with ``weights_only=False``, which can execute arbitrary
code and must only be used for files you trust.
"""

from __future__ import annotations

import argparse
import os
import pickle
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn

from .resnet import ARCHS, infer_resnet_structure, resnet_arch_for_structure

__all__ = [
    "FORMATS",
    "HUB_FILES",
    "LoadReport",
    "detect_format",
    "extract_backbone_state",
    "find_imagenet_weights",
    "hub_checkpoint_dir",
    "load_backbone_weights",
    "read_checkpoint",
]

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class _Format:
    container: Optional[str]  # preferred sub-dict ("model", "state_dict") or None for a flat state dict
    prefixes: tuple[str, ...]  # accepted backbone key prefixes, first = canonical
    skip_keys: tuple[str, ...] = ()
    squeeze_temporal: bool = False
    description: str = ""


#: Supported checkpoint layouts (SPEC §1.2).
FORMATS: dict[str, _Format] = {
    "torchvision": _Format(None, ("", "module."), description="torchvision ResNet state dict"),
    "ssl": _Format(None, ("", "module."), description="plain converted self-supervised ResNet state dict"),
    "crw": _Format("model", ("encoder.model.",), skip_keys=("head",), description="CRW (videowalk) checkpoint"),
    "mocov2": _Format("state_dict", ("module.encoder_q.",), description="MoCo v2 checkpoint (query encoder)"),
    "ssib": _Format(None, ("module.encoder.",), description="SSIB checkpoint"),
    "uvc": _Format("state_dict", ("module.gray_encoder.",), description="UVC checkpoint (gray encoder)"),
    "timecycle": _Format(
        "state_dict",
        ("module.encoderVideo.",),
        squeeze_temporal=True,
        description="TimeCycle checkpoint (3-D encoder, temporal kernel 1)",
    ),
}
# Prefix -> format used by "auto" (order matters only for readability; prefixes are distinct).
_PREFIX_TO_FORMAT = {
    "": "torchvision",
    "module.": "torchvision",
    "encoder.model.": "crw",
    "module.encoder_q.": "mocov2",
    "module.encoder.": "ssib",
    "module.gray_encoder.": "uvc",
    "module.encoderVideo.": "timecycle",
}
_CONTAINERS = ("state_dict", "model")

#: torchvision ImageNet weight files looked for in the hub cache, in order of preference (V1 weights first: the
#: reference uses V1). Nothing is ever downloaded.
HUB_FILES: dict[str, tuple[str, ...]] = {
    "resnet18": ("resnet18-5c106cde.pth", "resnet18-f37072fd.pth"),
    "resnet34": ("resnet34-333f7ec4.pth", "resnet34-b627a593.pth"),
    "resnet50": ("resnet50-19c8e357.pth", "resnet50-0676ba61.pth", "resnet50-11ad3fa6.pth"),
    "resnet101": ("resnet101-5d3b4d8f.pth", "resnet101-63fe2227.pth", "resnet101-cd907fc2.pth"),
}


def _safe_globals() -> list:
    out: list = [argparse.Namespace, np.dtype]
    core = getattr(np, "_core", None) or np.core
    out.append(core.multiarray.scalar)
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        out += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith("DType")]
    return out


def _global_name(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', getattr(obj, '__name__', '?'))}"


#: How to opt out of the weights-only load, in every message that suggests it (the CLI has no --trust flag: the
#: model spec carries the option).
TRUST_HINT = (
    "append @trust to the model spec (e.g. resnet50:/ckpt/old.pth@trust; Python: "
    "AppearanceModel(..., trust_checkpoint=True))"
)


def _load_error_detail(exc: BaseException) -> str:
    """The informative part of torch.load's weights-only error (its last non-empty line that is not advice)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    useful = [
        ln
        for ln in lines
        if not ln.startswith(("Weights only load failed", "Please file an issue", "Check the documentation"))
    ]
    return (useful[-1] if useful else (lines[0] if lines else type(exc).__name__))[:200]


def read_checkpoint(path: PathLike, *, trust: bool = False) -> Any:
    """``torch.load`` a checkpoint safely on CPU (policy in the module docstring).

    Raises FileNotFoundError (no such file), ValueError (a directory), RuntimeError (unreadable, or pickled objects
    outside the allow-list without ``trust=True``).
    """
    p = Path(os.fspath(path)).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"weights: checkpoint file '{p}' does not exist")
    if p.is_dir():
        raise ValueError(f"weights: '{p}' is a directory, expected a checkpoint file written by torch.save")
    if trust:
        try:
            return torch.load(p, map_location="cpu", weights_only=False)
        except Exception as e:  # noqa: BLE001 - any failure means the file is unreadable
            raise RuntimeError(f"weights: could not read checkpoint '{p}': {type(e).__name__}: {e}") from e
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first_error: Exception = e
    except Exception as e:  # noqa: BLE001
        raise RuntimeError(
            f"weights: could not read checkpoint '{p}' ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
            "; expected a file written by torch.save"
        ) from e
    # weights_only refused the file: find out which globals it needs.
    try:
        unsafe = list(torch.serialization.get_unsafe_globals_in_checkpoint(p))
    except Exception as e:  # noqa: BLE001 - not a zip checkpoint: garbage or a legacy file with objects
        raise RuntimeError(
            f"weights: could not read checkpoint '{p}' as a torch.save file with weights_only=True "
            f"({_load_error_detail(first_error)}). If it is a legacy checkpoint that pickles Python objects "
            f"and you trust its source, {TRUST_HINT}."
        ) from e
    allowed = _safe_globals()
    allowed_names = {_global_name(g) for g in allowed}
    # numpy reports its scalar as numpy.core.multiarray.scalar or numpy._core.multiarray.scalar.
    allowed_names |= {n.replace("numpy._core", "numpy.core") for n in allowed_names}
    not_allowed = [g for g in unsafe if g not in allowed_names]
    if not not_allowed:
        try:
            with torch.serialization.safe_globals(allowed):
                return torch.load(p, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001
            first_error = e
            not_allowed = unsafe
    raise RuntimeError(
        f"weights: checkpoint '{p}' pickles Python objects that a weights-only load refuses: {not_allowed}. "
        f"If you trust the file's source, {TRUST_HINT} to load it with torch.load(weights_only=False), which can "
        "execute arbitrary code."
    ) from first_error


def _is_tensor_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and any(isinstance(v, torch.Tensor) for v in obj.values())


def _candidates(ckpt: Any) -> list[tuple[Optional[str], Mapping[str, Any]]]:
    out: list[tuple[Optional[str], Mapping[str, Any]]] = []
    if isinstance(ckpt, Mapping):
        for c in _CONTAINERS:
            if c in ckpt and _is_tensor_dict(ckpt[c]):
                out.append((c, ckpt[c]))
        if _is_tensor_dict(ckpt):
            out.append((None, ckpt))
    return out


def _stem_prefixes(sd: Mapping[str, Any]) -> list[str]:
    keys = set(k for k in sd if isinstance(k, str))
    return sorted(
        {
            k[: -len("conv1.weight")]
            for k in keys
            if k.endswith("conv1.weight") and k[: -len("conv1.weight")] + "layer1.0.conv1.weight" in keys
        }
    )


def _describe(ckpt: Any, limit: int = 12) -> str:
    if isinstance(ckpt, Mapping):
        top = list(ckpt.keys())
        parts = []
        if not _is_tensor_dict(ckpt):
            parts.append(f"top-level entries {[str(k) for k in top[:limit]]}" + (" ..." if len(top) > limit else ""))
        for name, sd in _candidates(ckpt):
            keys = [str(k) for k in sd.keys()]
            where = f"ckpt['{name}']" if name else "top level"
            parts.append(f"{where}: {len(keys)} keys, e.g. {keys[:limit]}")
        return "; ".join(parts)
    return f"an object of type {type(ckpt).__name__}"


def detect_format(ckpt: Any) -> tuple[str, Optional[str], str]:
    """Detect the layout of a loaded checkpoint.

    Returns ``(format, container, prefix)``: the :data:`FORMATS` name, the sub-dict holding the weights (None: top
    level) and the backbone key prefix. Raises ValueError listing what was found when no known layout matches.
    """
    cands = _candidates(ckpt)
    unknown: list[str] = []
    for name, sd in cands:
        prefixes = _stem_prefixes(sd)
        known = [p for p in prefixes if p in _PREFIX_TO_FORMAT]
        if known:
            # '' beats 'module.' (plain keys beside a DataParallel copy are unusual; prefer the plain ones).
            p = known[0]
            return _PREFIX_TO_FORMAT[p], name, p
        unknown += [f"'{p}'" + (f" in ckpt['{name}']" if name else "") for p in prefixes]
    hint = (
        f"a ResNet stem under prefix {', '.join(unknown)}, which no known format uses"
        if unknown
        else "no ResNet stem (keys '<prefix>conv1.weight' and '<prefix>layer1.0.conv1.weight')"
    )
    raise ValueError(
        f"weights: unrecognised checkpoint layout: found {hint}; {_describe(ckpt)}. Known layouts: "
        + ", ".join(f"{f} ('{p}' keys)" for p, f in _PREFIX_TO_FORMAT.items() if p != "module.")
        + ". Pass weights_format= explicitly or convert the file to a torchvision state dict."
    )


@dataclass
class LoadReport:
    """What a checkpoint load did. Key lists use the model's (torchvision) names, except ``skipped``, which uses the
    file's names for entries outside the backbone prefix.

    ``loaded``: model tensors set from the file. ``skipped``: file entries dropped on purpose (outside the backbone
    prefix, matching ``skip_keys``, or belonging to parts this model does not build: ``fc``, ``avgpool``, ``layer4`` at
    layer 3). ``missing``: model tensors the file did not provide (they keep the seeded random init;
    ``num_batches_tracked`` counters are not listed). ``unexpected``: backbone entries naming nothing in this
    architecture. ``squeezed``: TimeCycle 5-D weights squeezed to 4-D.
    """

    path: str = ""
    format: str = ""
    detected: bool = False
    container: Optional[str] = None
    prefix: str = ""
    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    squeezed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        how = "detected" if self.detected else "given"
        where = f"ckpt['{self.container}']" if self.container else "top level"
        lines = [
            f"checkpoint {self.path}: format {self.format} ({how}), weights from {where}, prefix '{self.prefix}'",
            f"  loaded {len(self.loaded)} tensors"
            + (f" ({len(self.squeezed)} squeezed 5-D -> 4-D)" if self.squeezed else ""),
        ]
        for label, keys in (("skipped", self.skipped), ("missing", self.missing), ("unexpected", self.unexpected)):
            if keys:
                groups = Counter(k.split(".")[0] for k in keys)
                summary = ", ".join(f"{g}.*: {n}" for g, n in groups.most_common(8))
                lines.append(f"  {label} {len(keys)} ({summary}{', ...' if len(groups) > 8 else ''})")
            else:
                lines.append(f"  {label} 0")
        return "\n".join(lines)


def _locate_backbone(ckpt: Any, fmt_name: str) -> tuple[Optional[str], str]:
    """``(container, prefix)`` of the backbone keys of a checkpoint in the named format; ValueError saying what was
    found (and which format the layout looks like) otherwise."""
    fmt = FORMATS[fmt_name]
    cands = _candidates(ckpt)
    # Preferred container first, then the others (tolerate e.g. a flat SSIB dict wrapped in 'state_dict').
    cands.sort(key=lambda c: 0 if c[0] == fmt.container else 1)
    for name, sd in cands:
        for p in fmt.prefixes:
            if p + "conv1.weight" in sd or any(isinstance(k, str) and k.startswith(p + "layer1.") for k in sd):
                return name, p
    try:
        guess = detect_format(ckpt)[0]
        hint = f"; the layout looks like weights_format='{guess}'"
    except ValueError:
        hint = ""
    want = f"ckpt['{fmt.container}']" if fmt.container else "a flat state dict"
    raise ValueError(
        f"weights_format={fmt_name!r}: expected backbone keys starting with {fmt.prefixes[0]!r} in {want}, "
        f"found {_describe(ckpt)}{hint}"
    )


def extract_backbone_state(ckpt: Any, weights_format: str = "auto") -> tuple[dict[str, Any], list[str], LoadReport]:
    """Pull the backbone state dict out of a loaded checkpoint and rename it to torchvision keys.

    Returns ``(state, dropped, report)``: the renamed entries, the file keys outside the backbone prefix, and a
    :class:`LoadReport` with format/container/prefix filled in.
    """
    if weights_format == "auto":
        fmt_name, container, prefix = detect_format(ckpt)
        detected = True
    else:
        if weights_format not in FORMATS:
            raise ValueError(f"weights_format: expected 'auto' or one of {sorted(FORMATS)}, got {weights_format!r}")
        fmt_name, detected = weights_format, False
        container, prefix = _locate_backbone(ckpt, fmt_name)
    sd = ckpt if container is None else ckpt[container]
    state: dict[str, Any] = {}
    dropped: list[str] = []
    for k, v in sd.items():
        if isinstance(k, str) and k.startswith(prefix):
            state[k[len(prefix) :]] = v
        else:
            dropped.append(str(k))
    if fmt_name == "crw":
        # The reference adds '.1.weight' -> '.weight' copies for conv1/conv2 keys, but before stripping the prefix,
        # so they never match (SPEC §9.1). We apply the fix to the stripped keys when the plain key is absent.
        for k in list(state):
            for bad in ("conv1.1.weight", "conv2.1.weight"):
                if k.endswith(bad):
                    fixed = k[: -len(bad)] + bad.replace(".1.weight", ".weight")
                    if fixed not in state:
                        state[fixed] = state.pop(k)
    report = LoadReport(format=fmt_name, detected=detected, container=container, prefix=prefix)
    return state, dropped, report


def load_backbone_weights(
    backbone: nn.Module,
    ckpt: Any,
    *,
    arch: str,
    weights_format: str = "auto",
    skip_keys: Sequence[str] = (),
    absent_parts: Iterable[str] = ("fc", "avgpool"),
    strict: bool = False,
    path: str = "",
) -> LoadReport:
    """Partial-load a checkpoint into a torchvision-keyed ``backbone`` (semantics in the module docstring).

    ``arch`` is the backbone's :data:`ARCHS` name, checked against the block structure found in the file.
    ``absent_parts`` are top-level names of standard ResNet parts the backbone does not build (their entries are
    *skipped*, not *unexpected*). ``strict=True`` turns missing or unexpected keys into a ValueError; otherwise missing
    keys raise a UserWarning. Raises ValueError on shape mismatch, wrong architecture or when nothing matches.
    """
    state, dropped, report = extract_backbone_state(ckpt, weights_format)
    report.path = path
    fmt = FORMATS[report.format]
    skip = tuple(skip_keys) + fmt.skip_keys
    absent = set(absent_parts)
    where = f"checkpoint '{path}'" if path else "checkpoint"

    structure = infer_resnet_structure(state)
    if structure is not None and arch in ARCHS:
        # Wrong architecture: another block type, more blocks in a stage than the model has, or exactly the block
        # structure of another known ResNet. Fewer blocks alone is a partial checkpoint (reported as missing keys).
        block, layers = ARCHS[arch]
        want_kind = "bottleneck" if block.expansion == 4 else "basic"
        kind, stages = structure
        found = resnet_arch_for_structure(structure) if len(stages) >= 3 else None
        if (
            kind != want_kind
            or any(n > m for n, m in zip(stages, layers))
            or (
                found is not None
                and found != arch
                and tuple(ARCHS[found][1][: len(stages)]) == stages
                and tuple(layers[: len(stages)]) != stages
            )
        ):
            what = f"a {found} backbone" if found else "an unknown ResNet"
            raise ValueError(
                f"weights: {where} holds {what} ({kind} blocks, {list(stages)} per stage), but arch={arch!r} has "
                f"{want_kind} blocks, {list(layers)} per stage" + (f"; pass arch={found!r}" if found else "")
            )

    target = backbone.state_dict()
    merged = dict(target)
    skipped = list(dropped)
    mismatched: list[str] = []
    for k, v in state.items():
        if any(s in k for s in skip):
            skipped.append(k)
            continue
        if k not in target:
            (skipped if k.split(".")[0] in absent else report.unexpected).append(k)
            continue
        if not isinstance(v, torch.Tensor):
            report.unexpected.append(k)
            continue
        t = target[k]
        if fmt.squeeze_temporal and v.dim() == 5 and t.dim() == 4:
            if v.shape[2] != 1:
                raise ValueError(
                    f"weights: {where}: '{report.prefix}{k}' is a 3-D conv weight with temporal size {v.shape[2]} "
                    f"(shape {list(v.shape)}); only temporal size 1 can be squeezed to the 2-D shape {list(t.shape)}"
                )
            v = v.squeeze(2)
            report.squeezed.append(k)
        if tuple(v.shape) != tuple(t.shape):
            mismatched.append(f"'{k}': checkpoint {list(v.shape)} vs model {list(t.shape)}")
            continue
        merged[k] = v
        report.loaded.append(k)
    if mismatched:
        raise ValueError(
            f"weights: {where} ({report.format}) has {len(mismatched)} shape mismatches for arch={arch!r}: "
            + "; ".join(mismatched[:8])
            + (" ..." if len(mismatched) > 8 else "")
        )
    report.skipped = skipped
    report.missing = [k for k in target if k not in report.loaded and not k.endswith("num_batches_tracked")]
    if not report.loaded:
        raise ValueError(
            f"weights: no tensor of {where} matched the {arch} backbone (format {report.format}, "
            f"prefix '{report.prefix}'); found {_describe(ckpt)}"
        )
    if strict and (report.missing or report.unexpected):
        raise ValueError(f"weights: strict load failed for {where}:\n{report}")
    backbone.load_state_dict(merged, strict=True)
    if report.missing:
        warnings.warn(
            f"weights: {len(report.missing)} tensors of {arch} are not in {where} and keep their seeded random init "
            f"(e.g. {report.missing[:4]})",
            UserWarning,
            stacklevel=3,
        )
    return report


def hub_checkpoint_dir() -> Path:
    """The torch hub weight cache: ``$TORCH_HOME/hub/checkpoints`` (default ``~/.cache/torch/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def find_imagenet_weights(arch: str, cache_dir: Optional[PathLike] = None) -> Path:
    """Path of torchvision ImageNet weights for ``arch`` in the hub cache (never downloads).

    Raises FileNotFoundError naming the folder and the file names looked for.
    """
    if arch not in HUB_FILES:
        raise ValueError(f"arch: no ImageNet weight file names known for {arch!r}; known: {sorted(HUB_FILES)}")
    folder = Path(os.fspath(cache_dir)) if cache_dir is not None else hub_checkpoint_dir()
    for name in HUB_FILES[arch]:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(
        f"pretrained: no torchvision ImageNet weights for {arch} in the torch hub cache '{folder}' "
        f"(looked for {', '.join(HUB_FILES[arch])}). unitrack never downloads: copy one of these files there "
        f"(or set TORCH_HOME), give the checkpoint as a spec ({arch}:/path/to/weights.pth; Python: weights=<path>), or "
        f"use a built-in without weights ({arch}:random, color, texture)."
    )
