"""Build an appearance model from a short text spec (CLI, evaluation platform, configs).

Grammar: ``NAME[:SOURCE][@OPTIONS]``

* ``NAME``: an architecture (``resnet18``, ``resnet50``, ``resnet34``, ``resnet101``), a checkpoint family that implies
  the architecture and format (``crw``, ``uvc`` -> ResNet-18; ``mocov2``, ``ssib``, ``timecycle``, ``ssl`` ->
  ResNet-50), a reference ``model_type`` alias (``imagenet18``, ``imagenet50``, ``random18``, ``random50``), or a
  training-free built-in (``color``, ``texture``).
* ``SOURCE`` (architectures only): ``imagenet`` (default: torchvision weights from the torch hub cache, never
  downloaded), ``random`` (seeded random init), or a checkpoint path (format detected from the keys).
  Checkpoint families need a path: ``crw:/ckpt/crw.pth``.
* ``OPTIONS``: comma-separated ``layer3`` | ``layer4`` (also ``l3``/``l4``), ``format=<weights_format>``,
  ``norm=imagenet|crw``, ``seed=<int>``, ``trust`` (allow unsafe unpickling of a trusted file).
  A trailing ``@...`` that does not parse as options is taken as part of the path.
* A bare path to an existing file means "detect architecture and format from it".

Examples: ``resnet18``, ``resnet18:random``, ``resnet50:/ckpt/swav.pth@layer4``, ``crw:/ckpt/crw.pth``,
``ssib:/ckpt/ssib.pth@layer4``, ``texture``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Union

import torch
import torch.nn as nn

from .appearance import AppearanceModel
from .base import ColorStatsModel, FeatureExtractor, wrap_module
from .checkpoints import FORMATS, HUB_FILES, hub_checkpoint_dir
from .precision import check_precision
from .resnet import ARCHS
from .texture import TextureModel

__all__ = [
    "ModelSpec",
    "available_devices",
    "build_model",
    "check_device",
    "compose_spec",
    "imagenet_weights_available",
    "list_builtin_models",
    "parse_model_spec",
]

# family -> (arch, weights_format)
_FAMILIES = {
    "crw": ("resnet18", "crw"),
    "uvc": ("resnet18", "uvc"),
    "mocov2": ("resnet50", "mocov2"),
    "ssib": ("resnet50", "ssib"),
    "timecycle": ("resnet50", "timecycle"),
    "ssl": ("resnet50", "ssl"),
}
_ALIASES = {
    "imagenet18": ("resnet18", "imagenet"),
    "imagenet50": ("resnet50", "imagenet"),
    "imagenet34": ("resnet34", "imagenet"),
    "imagenet101": ("resnet101", "imagenet"),
    "random18": ("resnet18", "random"),
    "random50": ("resnet50", "random"),
}
_TRAINING_FREE = ("color", "texture")


@dataclass
class ModelSpec:
    """A parsed model spec. ``kwargs`` are the :class:`AppearanceModel` arguments (empty for training-free models)."""

    kind: str  # "resnet" | "color" | "texture"
    kwargs: dict[str, Any] = field(default_factory=dict)


def _parse_options(text: str) -> dict[str, Any] | None:
    """Options after '@', or None if ``text`` is not an option list."""
    out: dict[str, Any] = {}
    for item in text.split(","):
        item = item.strip()
        low = item.lower()
        if low in ("layer3", "l3", "layer4", "l4"):
            out["layer"] = int(low[-1])
        elif low == "trust":
            out["trust_checkpoint"] = True
        elif "=" in item:
            key, value = (s.strip() for s in item.split("=", 1))
            if key == "format":
                out["weights_format"] = value
            elif key in ("norm", "normalization"):
                out["normalization"] = value
            elif key == "seed":
                try:
                    out["seed"] = int(value)
                except ValueError:
                    return None
            else:
                return None
        else:
            return None
    return out


def parse_model_spec(spec: str) -> ModelSpec:
    """Parse ``NAME[:SOURCE][@OPTIONS]`` (module docstring) without building anything. Raises ValueError."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"model spec: expected a non-empty string like 'resnet18:random', got {spec!r}")
    spec = spec.strip()
    options: dict[str, Any] = {}
    head, sep, tail = spec.rpartition("@")
    if sep:
        parsed = _parse_options(tail)
        if parsed is not None:
            spec, options = head, parsed
    name, sep, source = spec.partition(":")
    name_low = name.lower()
    if (
        not sep
        and name_low not in ARCHS
        and name_low not in _ALIASES
        and name_low not in _FAMILIES
        and name_low not in _TRAINING_FREE
        and os.path.isfile(os.path.expanduser(spec))
    ):
        return ModelSpec("resnet", {"arch": "auto", "weights": os.path.expanduser(spec), **options})
    if name_low in _TRAINING_FREE:
        if sep or options:
            raise ValueError(f"model spec {spec!r}: '{name_low}' takes no source or options")
        return ModelSpec(name_low)
    if name_low in _ALIASES:
        if sep:
            raise ValueError(
                f"model spec {spec!r}: '{name_low}' is an alias of "
                f"'{_ALIASES[name_low][0]}:{_ALIASES[name_low][1]}' and takes no source"
            )
        name_low, source = _ALIASES[name_low]
    kwargs: dict[str, Any] = {}
    if name_low in _FAMILIES:
        arch, fmt = _FAMILIES[name_low]
        if not source or source in ("imagenet", "random"):
            raise ValueError(
                f"model spec {spec!r}: '{name_low}' needs a checkpoint path, e.g. '{name_low}:/path/to.pth'"
            )
        kwargs.update(arch=arch, weights=os.path.expanduser(source), weights_format=fmt)
    elif name_low in ARCHS:
        kwargs["arch"] = name_low
        if source in ("", "imagenet"):
            kwargs["pretrained"] = True
        elif source != "random":
            kwargs["weights"] = os.path.expanduser(source)
    else:
        known = sorted(ARCHS) + sorted(_FAMILIES) + sorted(_ALIASES) + list(_TRAINING_FREE)
        raise ValueError(f"model spec {spec!r}: unknown model {name!r}; expected one of {known} or a checkpoint path")
    kwargs.update(options)
    fmt = kwargs.get("weights_format", "auto")
    if fmt != "auto" and fmt not in FORMATS:
        raise ValueError(f"model spec {spec!r}: format={fmt!r} is not one of {sorted(FORMATS)}")
    return ModelSpec("resnet", kwargs)


def compose_spec(
    base: str,
    *,
    weights: Union[str, os.PathLike, None] = None,
    weights_format: str = "auto",
    layer: Union[int, None] = None,
) -> str:
    """Combine a base spec with separate ``--weights/--format/--layer`` style arguments into one spec string.

    ``compose_spec("resnet50", weights="/c/swav.pth", layer=4) == "resnet50:/c/swav.pth@layer4"``. The result is
    validated with :func:`parse_model_spec`. Raises ValueError when ``base`` already names a source and ``weights``
    is given, when options are given for a training-free model, or for a bad format/layer.
    """
    if not isinstance(base, str) or not base.strip():
        raise ValueError(f"base: expected a model spec like 'resnet50', got {base!r}")
    base = base.strip()
    head, sep, tail = base.rpartition("@")
    options: list[str] = []
    if sep and _parse_options(tail) is not None:
        base, options = head, [o.strip() for o in tail.split(",")]
    if weights is not None:
        if ":" in base:
            raise ValueError(f"weights: spec {base!r} already names its weights; give either ARCH:PATH or --weights")
        base = f"{base}:{os.fspath(weights)}"
    if layer is not None:
        if layer not in (3, 4):
            raise ValueError(f"layer: expected 3 or 4, got {layer!r}")
        options = [o for o in options if o.lower() not in ("layer3", "layer4", "l3", "l4")] + [f"layer{layer}"]
    if weights_format != "auto":
        options = [o for o in options if not o.startswith("format=")] + [f"format={weights_format}"]
    spec = f"{base}@{','.join(options)}" if options else base
    parse_model_spec(spec)
    return spec


def imagenet_weights_available(arch: str = "resnet18") -> bool:
    """Whether torchvision ImageNet weights for ``arch`` are in the torch hub cache (nothing is downloaded)."""
    if arch not in HUB_FILES:
        raise ValueError(f"arch: expected one of {sorted(HUB_FILES)}, got {arch!r}")
    cache = hub_checkpoint_dir()
    return any((cache / f).is_file() for f in HUB_FILES[arch])


def available_devices() -> list[str]:
    """Torch devices usable here: ``cpu``, then ``cuda:0..N-1`` and ``mps`` when this build and machine have them."""
    out = ["cpu"]
    if torch.cuda.is_available():
        out += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return out


def check_device(device: Union[str, torch.device, None], name: str = "device") -> str:
    """Validate a device against this torch build and machine; returns it as a string (``None``/empty -> ``"cpu"``).

    Raises ValueError naming ``name`` and listing what is available (e.g. ``device cuda: this torch 2.13.0 is a
    CPU-only build; available here: cpu``) instead of torch's assertion deep inside the first ``.to(device)``.
    """
    if device is None or str(device).strip() == "":
        return "cpu"
    text = str(device).strip()
    avail = ", ".join(available_devices())
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise ValueError(f"{name} {text!r}: not a torch device name; available here: {avail}") from None
    if dev.type == "cpu":
        return text
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = (
                f"this torch {torch.__version__} is a CPU-only build"
                if torch.version.cuda is None
                else f"torch {torch.__version__} (CUDA {torch.version.cuda}) finds no usable CUDA device"
            )
            raise ValueError(f"{name} {text}: {why}; available here: {avail}")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"{name} {text}: there are only {torch.cuda.device_count()} CUDA device(s); available here: {avail}"
            )
        return text
    if dev.type == "mps" and "mps" in avail:
        return text
    raise ValueError(f"{name} {text}: not available in this torch build or on this machine; available here: {avail}")


def build_model(
    spec: Union[str, nn.Module], device: Union[str, torch.device] = "cpu", precision: str = "fp32"
) -> FeatureExtractor:
    """A :class:`FeatureExtractor` from a spec string (module docstring) or any stride-8 ``nn.Module``, whose forward
    pass runs in ``precision`` (``"fp32"``, ``"bf16"``, ``"fp16"`` on CUDA only; :mod:`unitrack.model.precision`).

    Raises ValueError for a bad spec, an unavailable device (:func:`check_device`) or a precision the device cannot
    run, FileNotFoundError for missing weights (ImageNet weights not in the hub cache, a checkpoint path that does not
    exist), RuntimeError for an unreadable checkpoint.
    """
    if not isinstance(device, torch.device):
        device = check_device(device)
    check_precision(precision, device)
    if isinstance(spec, nn.Module):
        model = wrap_module(spec).to(device)
    else:
        parsed = parse_model_spec(spec)
        if parsed.kind == "color":
            model = ColorStatsModel().to(device)
        elif parsed.kind == "texture":
            model = TextureModel().to(device)
        else:
            model = AppearanceModel(**parsed.kwargs, device=device)
    model.precision = precision
    return model


def list_builtin_models() -> dict[str, str]:
    """Specs usable without a checkpoint path -> one-line description (ImageNet ones say whether they are cached)."""
    out: dict[str, str] = {}
    cache = hub_checkpoint_dir()
    for arch in ("resnet18", "resnet50"):
        files = [f for f in HUB_FILES[arch] if (cache / f).is_file()]
        state = f"found {files[0]}" if files else f"NOT in {cache} (needs one of {', '.join(HUB_FILES[arch])})"
        out[arch] = f"{arch} layer3, torchvision ImageNet weights from the torch hub cache ({state})"
    out["resnet18:random"] = "resnet18 layer3, random init (seed 0, torchvision-style Kaiming init), no weights"
    out["resnet50:random"] = "resnet50 layer3, random init (seed 0, torchvision-style Kaiming init), no weights"
    out["color"] = "training-free: mean colour (normalised RGB) of each 8x8 cell, 3 channels"
    out["texture"] = (
        "training-free: Lab colour mean/std + 18 Gabor energies + 8-bin gradient-orientation "
        "histogram per 8x8 cell, 32 channels"
    )
    return out
