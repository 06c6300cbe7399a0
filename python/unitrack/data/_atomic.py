"""Atomic file writing: write to a temporary file in the target folder, then ``os.replace`` it.

Nothing half-written is ever left under the final name: if serialisation fails (or Ctrl-C arrives), the temporary
file is removed and the previous content (if any) is untouched. Files get the usual permissions of newly created
files (``0666 & ~umask``, i.e. 0644 under the common umask 022), not ``mkstemp``'s private 0600.

* :func:`atomic_open` / :func:`atomic_write_text` -- one file written through Python;
* :func:`atomic_path` -- a temporary path with the final extension for writers that open the file themselves
  (OpenCV's video writer picks the container from the extension);
* :func:`atomic_dir` -- a temporary folder that replaces the final folder when complete.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator

__all__ = ["atomic_dir", "atomic_open", "atomic_path", "atomic_write_text", "current_umask", "default_file_mode"]


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux ``/proc``), else by setting and
    restoring it."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """Permission bits of a newly created regular file: ``0o666 & ~umask``."""
    return 0o666 & ~current_umask()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Context manager yielding a file object; on success the file is renamed to ``path`` atomically.

    Args:
        path: final file path (its parent folder is created if missing).
        mode: ``"w"`` (text) or ``"wb"`` (binary).
        encoding: text encoding (ignored for binary mode).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        os.fchmod(fd, default_file_mode())  # mkstemp creates 0600; a result file is an ordinary file
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": encoding, "newline": "\n"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file + ``os.replace``)."""
    with atomic_open(path, "w") as f:
        f.write(text)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink()


def _partial_name(final: Path, keep_suffix: bool) -> Path:
    if keep_suffix and final.suffix:
        return final.with_name(f".{final.stem}.partial-{os.getpid()}{final.suffix}")
    return final.with_name(f".{final.name}.partial-{os.getpid()}")


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``final`` with the same extension (``.<stem>.partial-<pid><ext>``) for a writer
    that opens the file itself; when the block ends normally the file (if one was written) is renamed to ``final``;
    on any error or Ctrl-C it is removed and ``final`` is left as it was."""
    final = Path(os.fspath(final))
    tmp = _partial_name(final, keep_suffix=True)
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    if tmp.exists():
        os.replace(tmp, final)


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``final`` (``.<name>.partial-<pid>``); when the block ends normally it
    replaces ``final`` (an older folder of that name is removed, so no stale files survive); on any error or Ctrl-C it
    is removed and ``final`` is left as it was."""
    final = Path(os.fspath(final))
    tmp = _partial_name(final, keep_suffix=False)
    _remove(tmp)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    if final.exists() or final.is_symlink():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        _remove(old)
        os.replace(final, old)
        os.replace(tmp, final)
        _remove(old)
    else:
        os.replace(tmp, final)
