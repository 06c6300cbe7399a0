"""Where setup.py gets torch from (kept apart so tests can exercise it): the torch of the environment being installed into.

With build isolation (plain `pip install .`), pip runs setup.py with the target environment's interpreter
(`sys.executable`) but hides that environment's site-packages behind an overlay of the isolated build env. Asking the
same interpreter with `-I` (which ignores PYTHONPATH and so the overlay) where torch lives finds the user's torch; its
site-packages folder is then appended to sys.path (after the build env's own packages) and torch is imported from
there. `_C` only needs torch's stable-ABI headers and libtorch_cpu to link, and it runs under any torch >= MIN_TORCH.
"""
import os
import subprocess
import sys

# The oldest torch the stable-ABI extension supports (keep in sync with unitrack_ext.MIN_TORCH).
TORCH_TARGET_VERSION = "0x020a000000000000"  # 2.10.0
MIN_TORCH = "2.10"


def no_torch_message(python: str) -> str:
    return f"""
unitrack: building the kernels needs torch (>= {MIN_TORCH}) installed in the environment you install into, and this
Python ({python}) has none. Install torch first, then this package:

    {python} -m pip install torch            (e.g. torch==2.13.0 or the CPU wheel of your choice)
    {python} -m pip install .
"""


def target_site_packages(python: str = sys.executable):
    """The site-packages folder holding `python`'s own torch (ignoring PYTHONPATH), or None."""
    probe = "import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))"
    try:
        res = subprocess.run([python, "-I", "-c", probe], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0 or not res.stdout.strip():
        return None
    return res.stdout.strip().splitlines()[-1]


def import_target_torch(python: str = sys.executable):
    """Import torch: directly, or (inside pip's isolated build env) from the target interpreter's site-packages;
    exit with the message that says what to run when there is none."""
    try:
        import torch  # noqa: F401  (--no-build-isolation, or torch in the build env)

        return torch
    except ImportError:
        pass
    site_dir = target_site_packages(python)
    if site_dir is None:
        sys.exit(no_torch_message(python))
    sys.path.append(site_dir)  # appended: the build env's own packages (setuptools, wheel, ninja) keep priority
    try:
        import torch  # noqa: F401

        return torch
    except ImportError as exc:  # pragma: no cover - a broken torch install
        sys.exit(f"{no_torch_message(python)}\n(torch was found in {site_dir} but failed to import: {exc})")
