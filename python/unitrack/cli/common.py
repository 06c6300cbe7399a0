"""Shared machinery of every ``unitrack`` subcommand: one place for the user-facing failure paths and the options
that several commands share.

Every subcommand (``eval``, ``track <task>``, ``synth``, ``eval-mot``, ``models``, ``vos``, ``poseprop``) runs
through :func:`run_command`, which turns

* a user error (bad flag value, missing or malformed file, unwritable output, unavailable device, a missing optional
  extra: :class:`CLIError`, ``ValueError``, ``FileNotFoundError``, ``OSError``, ``RuntimeError``, ``TypeError``,
  ``ImportError``) into **one** line ``unitrack <cmd>: error: <what and what was expected>`` and exit code 2;
* Ctrl-C (``KeyboardInterrupt``) into one line ``unitrack <cmd>: interrupted ...`` and exit code 130 (the shell's
  128 + SIGINT), after the ``finally`` blocks of the command removed their partial outputs;
* anything else (a bug) into one line naming the exception and how to see its traceback
  (``UNITRACK_TRACEBACK=1``), exit code 1.

Checks every command makes before it starts working: :func:`check_output_dir` (the output folder can be created and
written to) and :func:`check_device` (the torch device exists in this build). Outputs are written so that nothing
half-written is left under a final name: :func:`partial_file` (a temporary sibling renamed into place on success,
e.g. the annotated ``_vis.mp4``) and :func:`partial_dir` (a temporary sibling folder that replaces the final one on
success, e.g. a folder of mask PNGs or overlay frames). :func:`warn` prints one-line warnings for results that look
wrong (an empty detection file, boxes outside the frame).

Shared options: :func:`add_model_option` / :func:`default_model_spec` / :func:`build_model_from_args` (the
representation), :func:`add_device_option`, :func:`add_out_option`, :func:`add_progress_option`,
:func:`add_propagation_args` (the propagation heads' hyper-parameters) and :func:`positive` (argparse types).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional, Union

from ..data._atomic import atomic_dir, atomic_path

__all__ = [
    "CLIError",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "EXIT_FAILED",
    "available_devices",
    "check_device",
    "check_output_dir",
    "error",
    "one_line",
    "partial_dir",
    "partial_file",
    "run_command",
    "warn",
    "MODEL_SPEC_HELP",
    "add_device_option",
    "add_model_option",
    "add_out_option",
    "add_progress_option",
    "add_propagation_args",
    "build_model_from_args",
    "default_model_spec",
    "positive",
]

PathLike = Union[str, os.PathLike]

EXIT_FAILED = 1  # the command ran but some of its work failed (e.g. a work item of `eval`), or a bug
EXIT_USAGE = 2  # bad input: nothing (or nothing more) was done
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it

#: Errors that mean "the input or the environment is not what the command expects": one line, exit 2.
USER_ERRORS = (ValueError, FileNotFoundError, OSError, RuntimeError, TypeError, ImportError, LookupError)

TRACEBACK_ENV = "UNITRACK_TRACEBACK"


class CLIError(ValueError):
    """A user-facing error: its message is printed as one line after ``unitrack <cmd>: error: ``."""


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (whitespace collapsed; the type name when the message is empty)."""
    msg = " ".join(str(exc).split())
    if isinstance(exc, OSError) and exc.strerror and msg.startswith("[Errno"):  # "[Errno 30] Read-only ..."
        msg = exc.strerror + (f": {os.fspath(exc.filename)!r}" if exc.filename else "")
    if isinstance(exc, ImportError) and "No module named" in msg:
        msg += " (a dependency is missing; reinstall with: pip install --no-build-isolation -e .)"
    return msg or type(exc).__name__


def _print(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr closed or a broken pipe: nothing left to tell
        pass


def error(prog: str, message: str) -> None:
    """Print ``<prog>: error: <message>`` (one line) on stderr."""
    _print(f"{prog}: error: {' '.join(message.split())}")


def warn(prog: str, message: str) -> None:
    """Print ``<prog>: warning: <message>`` (one line) on stderr: the command goes on."""
    _print(f"{prog}: warning: {' '.join(message.split())}")


def run_command(prog: str, func: Callable, args, *, interrupted: Optional[str] = None) -> int:
    """Run ``func(args)`` and map its outcome to an exit code (module docstring): 0 or ``func``'s own code,
    2 for user errors, 130 for Ctrl-C, 1 for bugs, each failure reported in one line on stderr.

    ``interrupted`` (or ``args.interrupt_note``, set by the command while it runs) is appended to the
    "interrupted" line, e.g. which outputs are kept.
    """
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        note = getattr(args, "interrupt_note", None) or interrupted
        _print(f"{prog}: interrupted" + (f"; {note}" if note else ""))
        return EXIT_INTERRUPTED
    except CLIError as exc:
        error(prog, one_line(exc))
        return EXIT_USAGE
    except USER_ERRORS as exc:
        if os.environ.get(TRACEBACK_ENV):
            raise
        error(prog, one_line(exc))
        return EXIT_USAGE
    except Exception as exc:  # a bug: still one line, with the way to get the traceback
        if os.environ.get(TRACEBACK_ENV):
            raise
        _print(
            f"{prog}: internal error: {type(exc).__name__}: {one_line(exc)} (rerun with {TRACEBACK_ENV}=1 to "
            "see the traceback, and please report it)"
        )
        return EXIT_FAILED


# ---------------------------------------------------------------------------------------------------- output folders
def _first_existing_parent(p: Path) -> Path:
    for q in [p, *p.parents]:
        if q.exists():
            return q
    return Path(".")


def check_output_dir(path: PathLike, flag: str = "--out", *, create: bool = True) -> Path:
    """Check, before any work, that the output folder ``path`` can be written: a file in the way, a read-only file
    system or a missing permission raises :class:`CLIError` naming ``flag`` and the reason.

    With ``create`` the folder (and its parents) is created and a file is created and removed in it; without, nothing
    is created: the folder, or else its deepest existing parent (where it would be created), is probed the same way.
    """
    p = Path(os.fspath(path)).expanduser()
    shown = os.fspath(path)
    if p.exists() and not p.is_dir():
        raise CLIError(f"{flag} {shown!r}: exists and is a file, not a folder; expected a folder to write results to")
    target = p
    if create:
        try:
            p.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise CLIError(
                f"{flag} {shown!r}: cannot create the folder because "
                f"{os.fspath(_first_existing_parent(p))!r} is a file; expected a folder path"
            ) from None
        except OSError as exc:
            raise CLIError(
                f"{flag} {shown!r}: cannot create the folder, its location is not writable "
                f"({exc.strerror or exc}); expected a folder you can write to"
            ) from None
    elif not p.exists():
        target = _first_existing_parent(p.absolute())
        if not target.is_dir():
            raise CLIError(
                f"{flag} {shown!r}: cannot create the folder because {os.fspath(target)!r} is a file; "
                "expected a folder path"
            )
    try:
        fd, probe = tempfile.mkstemp(prefix=".unitrack-write-check-", dir=target)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        where = "the folder" if target == p else f"its parent {os.fspath(target)!r}"
        raise CLIError(
            f"{flag} {shown!r}: {where} is not writable ({exc.strerror or exc}); expected a folder you can write to"
        ) from None
    return p


#: Outputs written under temporary names (see :mod:`unitrack.data._atomic`): renamed into place when complete,
#: removed on an error or Ctrl-C.
partial_file = atomic_path
partial_dir = atomic_dir


# --------------------------------------------------------------------------------------------------------- devices
def available_devices() -> list[str]:
    """Torch devices usable here (:func:`unitrack.model.available_devices`)."""
    from unitrack.model import available_devices as _available

    return _available()


def check_device(device: Optional[str], flag: str = "--device") -> str:
    """Validate a ``--device`` value against this torch build and machine before any work; returns it as a string.
    Raises :class:`CLIError` saying what is available (see :func:`unitrack.model.check_device`)."""
    from unitrack.model import check_device as _check

    try:
        return _check(device, flag)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


# ------------------------------------------------------------------------------------------------ shared options
#: What a representation spec can be (the help of every ``--model``).
MODEL_SPEC_HELP = (
    "appearance model spec for unitrack.model.build_model: resnet18, resnet50, resnet18:random, "
    "texture, color, ARCH:/path/ckpt.pth[@layer4], crw:/ckpt/crw.pth, ..."
)


def add_model_option(
    p: argparse.ArgumentParser, *, default: Optional[str] = None, repeatable: bool = False, help: str = ""
) -> None:
    """``--model SPEC``: one representation (``default`` when absent) or, with ``repeatable``, a list of them
    (``action="append"``). ``help`` follows the shared description of a spec."""
    text = f"{MODEL_SPEC_HELP}{'; ' + help if help else ''}"
    if repeatable:
        p.add_argument("--model", action="append", metavar="SPEC", help=text)
    else:
        p.add_argument("--model", default=default, metavar="SPEC", help=text)


def add_device_option(p: argparse.ArgumentParser) -> None:
    """``--device`` (default cpu), checked against this torch build before any work (:func:`check_device`)."""
    p.add_argument(
        "--device",
        default="cpu",
        help="torch device: cpu, cuda, cuda:1, ... (default: %(default)s); checked before any work",
    )


def add_precision_option(p: argparse.ArgumentParser) -> None:
    """``--precision fp32|bf16|fp16`` of the model and heads (default fp32), checked against ``--device`` before any
    work (:func:`check_precision`)."""
    p.add_argument(
        "--precision",
        default="fp32",
        choices=("fp32", "bf16", "fp16"),
        help="numeric precision of the backbone (autocast) and the fused propagation / XCorr ops: fp32 (default, "
        "parity with the official code), bf16, or fp16 (CUDA only). RSM, DCF, softmax and top-K stay float32",
    )


def check_precision(precision: str, device: str, flag: str = "--precision") -> str:
    """Validate ``--precision`` for ``--device`` before any work (fp16 is CUDA only); :class:`CLIError` naming the
    option and what the device supports."""
    from unitrack.model import check_precision as _check

    try:
        return _check(precision, device, flag)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def add_out_option(
    p: argparse.ArgumentParser, *, help: str, default: Optional[str] = None, required: bool = False, short: bool = False
) -> None:
    """``--out DIR`` (and ``-o`` with ``short``), checked writable before any work (:func:`check_output_dir`)."""
    flags = ("--out", "-o") if short else ("--out",)
    p.add_argument(*flags, default=default, required=required, metavar="DIR", help=help)


def add_progress_option(p: argparse.ArgumentParser, *, dest: str = "no_progress") -> None:
    """``--no-progress``: ``args.no_progress`` is True, or with ``dest="progress"`` ``args.progress`` is False."""
    action = "store_false" if dest == "progress" else "store_true"
    p.add_argument("--no-progress", dest=dest, action=action, help="hide progress bars")


def positive(kind: type, flag: str):
    """argparse ``type=`` that accepts only positive numbers of ``kind``, naming ``flag`` otherwise."""

    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}") from None
        if not v > 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return v

    parse.__name__ = f"positive {kind.__name__} for {flag}"
    return parse


def add_propagation_args(p: argparse.ArgumentParser, d: Any) -> None:
    """``--temperature --topk --radius --n-context`` of the propagation heads (defaults from the config ``d``, a
    :class:`unitrack.propagation.mask.PropagationConfig`)."""
    p.add_argument(
        "--temperature",
        type=float,
        default=d.temperature,
        help="softmax temperature of the top-K affinities (default: %(default)s)",
    )
    p.add_argument(
        "--topk", type=int, default=d.topk, help="memory positions each query pixel attends to (default: %(default)s)"
    )
    p.add_argument(
        "--radius",
        type=float,
        default=d.radius,
        help="search radius in feature cells for the recent context frames (default: %(default)s)",
    )
    p.add_argument(
        "--n-context",
        type=int,
        default=d.n_context,
        help="number of previous frames in the memory besides the first (default: %(default)s)",
    )


def default_model_spec(note: Optional[Callable[[str], None]] = None) -> str:
    """``"resnet18"`` when torchvision ImageNet weights are in the torch hub cache, else ``"resnet18:random"``
    (``note`` receives a one-line explanation then)."""
    from unitrack.model import imagenet_weights_available

    if imagenet_weights_available("resnet18"):
        return "resnet18"
    if note is not None:
        note(
            "note: ImageNet ResNet-18 weights are not in the torch hub cache; using a randomly initialised "
            "resnet18 (results will be poor). Pass --model SPEC (e.g. crw:/ckpt/crw.pth) for a real model."
        )
    return "resnet18:random"


def build_model_from_args(args: argparse.Namespace):
    """The representation of ``--model`` (or :func:`default_model_spec`, with its note on stderr) on
    ``--device``."""
    from unitrack.model import build_model

    spec = args.model or default_model_spec(lambda s: print(s, file=sys.stderr))
    return build_model(spec, device=args.device, precision=getattr(args, "precision", "fp32"))
