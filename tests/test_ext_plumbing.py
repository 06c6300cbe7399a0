"""The op layer end to end: the compiled extension loads, ops dispatch, fake kernels, opcheck, torch.compile,
fallback."""

import os
import subprocess
import sys

import pytest
import torch

import unitrack_ext

EXPECT_EXT = os.environ.get("UNITRACK_EXPECT_EXT", "1") == "1"


def test_compiled_extension_loaded():
    # Guards against the source tree shadowing the installed package or a silent CPU-less build.
    if not EXPECT_EXT:
        pytest.skip("UNITRACK_EXPECT_EXT=0")
    assert unitrack_ext.HAS_EXT, f"unitrack_ext._C failed to import: {unitrack_ext.EXT_ERROR}"
    so = unitrack_ext._C.__file__
    assert so.endswith(".so") and os.path.dirname(so) == os.path.dirname(unitrack_ext.__file__)
    info = torch.ops.unitrack._build_info()
    assert "compiler:" in info and "stable ABI target: torch >= 2.10" in info and "cpu isa levels built" in info
    assert int(torch.ops.unitrack._cuda_version()) == -1 or torch.cuda.is_available()


def test_every_op_has_a_compiled_cpu_kernel():
    if not EXPECT_EXT:
        pytest.skip("UNITRACK_EXPECT_EXT=0")
    missing = [op for op, devs in unitrack_ext.compiled_kernels.items() if not devs["cpu"]]
    assert missing == [], f"ops without a compiled CPU kernel: {missing}"
    assert set(unitrack_ext.compiled_kernels) == {"topk_propagate", "topk_affinity", "rsm", "xcorr"}


def test_collect_env_reports_kernels():
    text = unitrack_ext.collect_env()
    assert "xcorr" in text and "compiled _C" in text


def test_cli_env_runs():
    out = subprocess.run([sys.executable, "-m", "unitrack", "env"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "torch" in out.stdout and "xcorr" in out.stdout


def test_fallback_without_extension_warns_once_and_matches():
    # A fresh interpreter with the extension disabled must fall back to the reference with one warning.
    code = (
        "import warnings, torch\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    import unitrack_ext\n"
        "    from unitrack_ext import ops\n"
        "    s = torch.randn(2, 3, 9, 9); t = torch.randn(3, 4, 4)\n"
        "    out = ops.xcorr(s, t); out = ops.xcorr(s, t)\n"
        "msgs = [str(x.message) for x in w if 'compiled extension' in str(x.message)]\n"
        "assert not unitrack_ext.HAS_EXT\n"
        "assert len(msgs) == 1, msgs\n"
        "assert torch.allclose(out, torch.nn.functional.conv2d(s, t[None])[:, 0], atol=1e-5)\n"
        "print('ok')\n"
    )
    env = dict(os.environ, UNITRACK_FORCE_REFERENCE="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_cli_survives_a_missing_optional_dependency():
    # `unitrack env` must work even when a subcommand's dependency (here pycocotools) cannot be imported.
    code = (
        "import sys\n"
        "sys.modules['pycocotools'] = None\n"
        "from unitrack.cli import main\n"
        "assert main(['env']) == 0\n"
        "assert main(['synth', '--out', 'x']) == 2\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "xcorr" in out.stdout and "failed to import" in out.stderr


def test_collect_env_can_be_called_twice():
    # Importing the submodule unitrack_ext.collect_env used to rebind the package's collect_env() to the module.
    assert unitrack_ext.collect_env() == unitrack_ext.collect_env()
