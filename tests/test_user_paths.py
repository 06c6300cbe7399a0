"""Every user path ends in a result or in one clear line (issue 13).

Most tests run the real command line in a subprocess (``python -m unitrack ...``) and check what a user sees: the
exit code, stderr being exactly one line without a traceback, and no partial files left behind. The colour-statistics
model (``color``) and the tiny synthetic benchmark keep them fast.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import unitrack
from unitrack.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "python" / "unitrack"


# ------------------------------------------------------------------------------------------------------ helpers
def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "UNITRACK_TRACEBACK"}
    env.update(extra)
    return env


def _cli(args, *, timeout: float = 300, prefix=(), env=None) -> subprocess.CompletedProcess:
    cmd = [*prefix, sys.executable, "-m", "unitrack", *[str(a) for a in args]]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env or _env())


def _one_line(proc: subprocess.CompletedProcess, start: str) -> str:
    """stderr is exactly one line, starting with ``start``, and holds no traceback."""
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(start), lines[0]
    return lines[0]


def _all_files(root: Path) -> list[str]:
    return sorted(os.fspath(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Dataset roots of the tiny synthetic benchmark (all tasks), generated once."""
    from unitrack.evaluation.platform import synthetic_roots

    root = tmp_path_factory.mktemp("tiny")
    roots = synthetic_roots(
        str(root / "synthetic-tiny"),
        ["sot", "vos", "poseprop", "mot", "mots", "posetrack"],
        size="tiny",
        progress=False,
    )
    return {k: Path(v) for k, v in roots.items()}


def _sot_args(tiny) -> list[str]:
    """``--input <OTB frames> --box x,y,w,h`` of the first tiny SOT video."""
    vid = tiny["sot"] / "Synth01"
    x, y, w, h = (float(v) for v in re.split(r"[,\s]+", (vid / "groundtruth_rect.txt").read_text().split("\n")[0]))
    return ["--input", vid / "img", "--box", f"{x - 1:g},{y - 1:g},{w:g},{h:g}"]


# ------------------------------------------------------------------------------------ 12. CLI conventions, help
def test_version():
    out = _cli(["--version"])
    assert out.returncode == 0
    assert out.stdout.startswith(f"unitrack {unitrack.__version__} (torch {torch.__version__}")


def _parsers(parser: argparse.ArgumentParser, name: str = "unitrack"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for sub_name, sub in action.choices.items():
                assert helps.get(sub_name), f"'{name} {sub_name}' has no help line"
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_flag_of_every_command_has_help():
    missing = []
    for name, parser in _parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == [], f"flags without help text: {missing}"


def test_track_names_outputs_after_the_sequence_of_an_img1_folder(tiny, tmp_path):
    from unitrack.cli import main

    seq = tiny["mot"] / "train" / "SYNTH-01"
    out = tmp_path / "res"
    rc = main(
        [
            "track",
            "mot",
            "--input",
            str(seq / "img1"),
            "--dets",
            str(seq / "det" / "det.txt"),
            "--model",
            "color",
            "--out",
            str(out),
            "--no-vis",
            "--no-progress",
        ]
    )
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["SYNTH-01.txt"]  # not img1.txt
    # ... so that eval-mot finds it next to the ground truth of SYNTH-01
    rc = main(
        [
            "eval-mot",
            "--gt",
            str(tiny["mot"]),
            "--results",
            str(out),
            "--seqs",
            "SYNTH-01",
            "--no-progress",
            "--json",
            str(tmp_path / "m.json"),
        ]
    )
    assert rc == 0
    res = json.loads((tmp_path / "m.json").read_text())
    assert "HOTA" in res["SYNTH-01"] and res["SYNTH-01"]["Count"]["Dets"] > 0  # our rows were read and scored


# ------------------------------------------------------------------------------------------- 5. true hints
def _option_strings() -> set[str]:
    opts = set()
    for _, parser in _parsers(build_parser()):
        for action in parser._actions:
            opts.update(action.option_strings)
    return opts


def _string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


#: flags of other programs that messages legitimately name (pip's install option)
FOREIGN_FLAGS = {"--no-build-isolation"}


def test_every_flag_named_in_a_message_exists():
    known = _option_strings() | FOREIGN_FLAGS
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        for text in _string_constants(path):
            for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*[a-z0-9]", text):
                if flag not in known:
                    bad.append(f"{path.relative_to(REPO)}: {flag}")
    assert bad == [], f"messages name flags that no unitrack command has: {bad}"


def test_every_extra_named_in_a_message_exists():
    from importlib.metadata import metadata

    extras = set(metadata("unitrack").get_all("Provides-Extra") or [])
    named = set()
    for path in sorted(PKG.rglob("*.py")):
        for text in _string_constants(path):
            for group in re.findall(r"(?:\.|unitrack)\[([a-z,]+)\]", text):
                named.update(group.split(","))
    assert named, "expected install hints naming extras (plot, ray)"
    assert named <= extras, f"hints name extras that setup.py does not define: {sorted(named - extras)}"


def test_random_bytes_checkpoint_hint_names_a_syntax_that_works(tmp_path):
    ckpt = tmp_path / "random.pth"
    ckpt.write_bytes(np.random.RandomState(0).bytes(4096))
    out = _cli(["models", f"resnet18:{ckpt}"])
    assert out.returncode == 2
    line = _one_line(out, "unitrack models: error: ")
    assert "@trust" in line and "--trust-checkpoint" not in line
    # the hinted syntax is accepted: the file is now read without the weights-only guard (and is still garbage)
    out = _cli(["models", f"resnet18:{ckpt}@trust"])
    assert out.returncode == 2
    line = _one_line(out, "unitrack models: error: ")
    assert "weights_only" not in line and "@trust" not in line and "could not read checkpoint" in line
    # and eval takes the same spec (refused before any work, not by the argument parser)
    res = tmp_path / "eval"
    out = _cli(["eval", "--model", f"resnet18:{ckpt}@trust", "--out", res, "--no-progress"])
    assert out.returncode == 2
    assert _one_line(out, "unitrack eval: error: --model resnet18:")
    assert _all_files(res) == []


# --------------------------------------------------------------------------------- 6. validate before working
@pytest.mark.parametrize(
    "args, expect",
    [
        (["--model", "foo"], "--model foo: model spec 'foo': unknown model"),
        (["--model", "resnet18:/no/such/ckpt.pth"], "--model resnet18:/no/such/ckpt.pth: weights: checkpoint file"),
        (["--model", "resnet18", "--weights", "/no/such/w.pth"], "does not exist"),
        (["--model", "color", "--tasks", "sot,bogus"], "--tasks: unknown task(s) bogus"),
        (["--model", "color", "--tasks", "vos", "--davis", "/no/such/davis"], "--davis /no/such/davis"),
        (["--model", "color", "--imagenet-acc", "/no/such/acc.csv"], "--imagenet-acc: file not found"),
        (["--model", "color", "--max-sequences", "0"], "--max-sequences: expected a positive number"),
    ],
)
def test_eval_checks_inputs_before_any_work(tmp_path, args, expect):
    out_dir = tmp_path / "out"
    out = _cli(["eval", *args, "--out", out_dir, "--no-progress"])
    assert out.returncode == 2
    line = _one_line(out, "unitrack eval: error: ")
    assert expect in line
    assert _all_files(out_dir) == []  # no benchmark generated, no work item, no all-error table


# ------------------------------------------------------------------------------------- 2. unwritable output
def _commands_with_out(tiny, out) -> dict:
    return {
        "track sot": ["track", "sot", *_sot_args(tiny), "--model", "color", "--no-progress", "--out", out],
        "track mot": [
            "track",
            "mot",
            "--input",
            tiny["mot"] / "train" / "SYNTH-01" / "img1",
            "--dets",
            tiny["mot"] / "train" / "SYNTH-01" / "det" / "det.txt",
            "--model",
            "color",
            "--no-progress",
            "--out",
            out,
        ],
        "eval": ["eval", "--model", "color", "--data", "synthetic-tiny", "--no-progress", "--out", out],
        "synth": ["synth", "--size", "tiny", "--no-progress", "--out", out],
    }


@pytest.mark.parametrize("command", ["track sot", "track mot", "eval", "synth"])
def test_out_inside_a_regular_file_is_one_line_before_work(tiny, tmp_path, command):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder\n")
    out = _cli(_commands_with_out(tiny, blocker / "results")[command])
    assert out.returncode == 2
    line = _one_line(out, f"unitrack {command}: error: --out ")
    assert "is a file" in line and "a_file" in line
    assert _all_files(tmp_path) == ["a_file"] and blocker.read_text() == "not a folder\n"


def _readonly_prefix(folder: Path) -> list[str]:
    """Run a command with ``folder`` bind-mounted read-only in a private mount namespace (root's chmod is not
    enough); skip when this machine does not allow it."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    probe = subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            f"mount --bind -o ro '{folder}' '{folder}' && ! touch '{folder}/.probe' 2>/dev/null",
        ],
        capture_output=True,
    )
    if probe.returncode != 0:
        pytest.skip(
            f"a read-only bind mount in a private mount namespace is not permitted here: "
            f"{probe.stderr.decode(errors='replace').strip()}"
        )
    return ["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', os.fspath(folder)]


@pytest.mark.parametrize("command", ["track sot", "track mot", "eval", "synth"])
def test_read_only_out_is_one_line_before_work(tiny, tmp_path, command):
    ro = tmp_path / "ro"
    ro.mkdir()
    prefix = _readonly_prefix(ro)
    t0 = time.perf_counter()
    out = _cli(_commands_with_out(tiny, ro / "results")[command], prefix=prefix)
    assert out.returncode == 2
    line = _one_line(out, f"unitrack {command}: error: --out ")
    assert "Read-only file system" in line and "not writable" in line
    assert _all_files(ro) == []
    assert time.perf_counter() - t0 < 60  # refused up front, not after the computing


# ------------------------------------------------------------------------------------------------ 3. devices
@pytest.mark.skipif(torch.cuda.is_available(), reason="this torch has CUDA: --device cuda is valid here")
@pytest.mark.parametrize("command", ["track sot", "eval", "models", "vos", "poseprop"])
def test_unavailable_cuda_device_is_one_line(tiny, tmp_path, command):
    args = {
        "track sot": ["track", "sot", *_sot_args(tiny), "--model", "color", "--no-progress", "--out", tmp_path / "o"],
        "eval": ["eval", "--model", "color", "--no-progress", "--out", tmp_path / "o"],
        "models": ["models", "color"],
        "vos": ["vos", "--davis-root", tiny["vos"], "--model", "color", "--out", tmp_path / "o"],
        "poseprop": ["poseprop", "--filelist", tiny["poseprop"] / "testlist_split1.txt", "--model", "color"],
    }[command]
    out = _cli([*args, "--device", "cuda"])
    assert out.returncode == 2
    line = _one_line(out, f"unitrack {command}: error: --device cuda: ")
    assert "CPU-only build" in line and line.endswith("available here: cpu")
    assert _all_files(tmp_path) == []
    out = _cli([*args, "--device", "gpu0"])
    assert out.returncode == 2 and "not a torch device name" in _one_line(out, f"unitrack {command}: error: ")


# ---------------------------------------------------------------------------------------------- 4. interrupts
def _wait_for(cond, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    t0 = time.monotonic()
    while not cond():
        if proc.poll() is not None:
            raise AssertionError(
                f"the command ended before it could be interrupted: rc {proc.returncode}, stderr {proc.stderr.read()!r}"
            )
        if time.monotonic() - t0 > timeout:
            proc.kill()
            raise AssertionError("the command never started working")
        time.sleep(0.02)


def _default_sigint() -> None:
    """Child set-up: SIGINT as in a foreground terminal job. A shell that starts a job in the background (``cmd &``,
    nohup, some CI runners) leaves SIGINT ignored, and Python then installs no KeyboardInterrupt handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(proc: subprocess.Popen) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def test_ctrl_c_during_track_exits_130_and_leaves_no_partial_output(tmp_path):
    import cv2

    video = tmp_path / "long.mp4"
    vw = cv2.VideoWriter(os.fspath(video), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (128, 96))
    rng = np.random.RandomState(0)
    tex = rng.randint(0, 255, (24, 24, 3)).astype(np.uint8)
    for t in range(1500):  # long enough to still be running when the signal comes
        f = np.full((96, 128, 3), 90, np.uint8)
        x = 10 + (t % 80)
        f[30:54, x : x + 24] = tex
        vw.write(f)
    vw.release()
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "unitrack",
            "track",
            "sot",
            "--input",
            video,
            "--box",
            "10,30,24,24",
            "--model",
            "color",
            "--out",
            out,
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        preexec_fn=_default_sigint,
    )
    # the annotated video is being written (under its temporary name) once tracking runs
    _wait_for(lambda: any(p.suffix == ".mp4" for p in out.glob("*")), proc)
    time.sleep(0.3)
    rc, err = _interrupt(proc)
    assert rc == 130, err
    proc.stderr = None
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    assert lines[0].startswith("unitrack track sot: interrupted")
    assert _all_files(out) == []  # neither long.txt nor a half-written long_vis.mp4 nor a temporary file


def test_ctrl_c_during_eval_exits_130_and_keeps_finished_items(tiny, tmp_path):
    out = tmp_path / "out"
    args = [
        "eval",
        "--model",
        "color",
        "--tasks",
        "sot,vos,mot",
        "--otb",
        tiny["sot"],
        "--davis",
        tiny["vos"],
        "--mot",
        tiny["mot"],
        "--out",
        out,
        "--no-progress",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "unitrack", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        preexec_fn=_default_sigint,
    )
    _wait_for(lambda: any((out / "items").rglob("item.json")), proc)
    rc, err = _interrupt(proc)
    assert rc == 130, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    assert lines[0].startswith("unitrack eval: interrupted") and "reused" in lines[0]
    files = _all_files(out)
    assert not any(".partial-" in f for f in files), files  # the item that was running left nothing
    assert not any(f.startswith("results.") for f in files)
    done = sorted((out / "items").rglob("item.json"))
    assert done and all(json.loads(p.read_text())["status"] == "ok" for p in done)
    for p in done:  # every item folder that exists is complete
        assert {q.name for q in p.parent.iterdir()} > {"item.json"}
    # finished work items are reused by the next run
    from unitrack.evaluation import evaluate

    res = evaluate(
        ["color"],
        ["sot", "vos", "mot"],
        data="custom",
        roots={"sot": str(tiny["sot"]), "vos": str(tiny["vos"]), "mot": str(tiny["mot"])},
        out_root=str(out),
        progress=False,
    )
    assert res["errors"] == [] and res["meta"]["n_skipped"] == len(done)


def test_ctrl_c_while_generating_the_benchmark_leaves_no_half_written_data(tmp_path, monkeypatch):
    from unitrack.data import synthetic

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(synthetic.writers, "write_mot", interrupted)
    with pytest.raises(KeyboardInterrupt):
        synthetic.generate_benchmark(tmp_path / "bench", size="tiny", tasks="sot,mot", progress=False)
    assert not (tmp_path / "bench").exists()  # the otb/ it had finished and the mot/ it had started are gone


# -------------------------------------------------------------------------------------- 1. the plot extra
def test_eval_without_matplotlib_writes_the_table_and_one_line(tiny, tmp_path):
    out = tmp_path / "out"
    code = (
        "import sys; sys.modules['matplotlib'] = None  # as if the [plot] extra were not installed\n"
        "from unitrack.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    args = [
        "eval",
        "--model",
        "color",
        "--model",
        "texture",
        "--tasks",
        "vos,poseprop",
        "--davis",
        tiny["vos"],
        "--jhmdb",
        tiny["poseprop"],
        "--max-sequences",
        "1",
        "--out",
        out,
        "--no-progress",
    ]
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=600, env=_env()
    )
    assert proc.returncode == 0, proc.stderr
    line = _one_line(proc, "unitrack eval: warning: radar plot skipped")
    assert "matplotlib" in line and "'.[plot]'" in line
    assert "VOS J&F" in proc.stdout and "texture" in proc.stdout  # the table was printed
    for name in ("results.md", "results.csv", "results.json", "config.json"):
        assert (out / name).is_file()
    assert not (out / "radar.png").exists()
    # with matplotlib the same run (items reused) draws it
    pytest.importorskip("matplotlib")
    from unitrack.evaluation import evaluate

    res = evaluate(
        ["color", "texture"],
        ["vos", "poseprop"],
        data="custom",
        roots={"vos": str(tiny["vos"]), "poseprop": str(tiny["poseprop"])},
        out_root=str(out),
        progress=False,
        max_sequences=1,
    )
    assert res["notes"] == [] and (out / "radar.png").is_file() and res["meta"]["n_skipped"] == 4


# ------------------------------------------------------------------------------------------ 7. file modes
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_written_files_respect_the_umask(tmp_path, umask, mode):
    from unitrack.data._atomic import atomic_path, atomic_write_text
    from unitrack.data.motchallenge import write_mot_results
    from unitrack.data.otb import write_results

    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "a.json", "{}")
        write_results(tmp_path / "otb.txt", np.ones((2, 4)))
        write_mot_results(tmp_path / "mot.txt", np.ones((1, 7)))
        with atomic_path(tmp_path / "v.bin") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    for name in ("a.json", "otb.txt", "mot.txt", "v.bin"):
        assert (tmp_path / name).stat().st_mode & 0o777 == mode, name


def test_track_outputs_are_ordinary_0644_files(tiny, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "unitrack",
            "track",
            "sot",
            *map(str, _sot_args(tiny)),
            "--model",
            "color",
            "--out",
            str(out),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env=_env(),
        preexec_fn=lambda: os.umask(0o022),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["Synth01.txt", "Synth01_vis.mp4"]  # named after SEQ of SEQ/img
    for p in out.iterdir():
        assert p.stat().st_mode & 0o777 == 0o644, p


# ------------------------------------------------------------------------------ 8. quiet wrong-looking results
def _mot_track(tiny, tmp_path, det_rows: list[str]) -> subprocess.CompletedProcess:
    det = tmp_path / "det.txt"
    det.write_text("".join(r + "\n" for r in det_rows))
    return _cli(
        [
            "track",
            "mot",
            "--input",
            tiny["mot"] / "train" / "SYNTH-01" / "img1",
            "--dets",
            det,
            "--model",
            "color",
            "--out",
            tmp_path / "out",
            "--no-vis",
            "--no-progress",
        ]
    )


@pytest.mark.parametrize(
    "rows, expect",
    [
        ([], "the file has no detections"),
        ([f"{t},-1,{1000 + t},50,20,40,0.9" for t in range(1, 6)], "all 5 detections lie outside the 160x120"),
        ([f"{t},-1,{20 + t},30,20,40,0.3" for t in range(1, 6)], "every detection score is <= 0.5"),
        ([f"{t},-1,{20 + t},30,8,9,0.9" for t in range(1, 11)], "no track was written"),
    ],
)
def test_detections_that_cannot_give_tracks_are_warned_about(tiny, tmp_path, rows, expect):
    out = _mot_track(tiny, tmp_path, rows)
    assert out.returncode == 0
    line = _one_line(out, "unitrack track mot: warning: ")
    assert expect in line
    assert (tmp_path / "out" / "SYNTH-01.txt").read_text() == ""


def test_good_detections_give_no_warning(tiny, tmp_path):
    seq = tiny["mot"] / "train" / "SYNTH-01"
    out = _mot_track(tiny, tmp_path, (seq / "det" / "det.txt").read_text().splitlines())
    assert out.returncode == 0 and out.stderr.strip() == ""
    assert (tmp_path / "out" / "SYNTH-01.txt").read_text().strip()


def test_empty_masks_and_poses_are_warned_about(tiny, tmp_path):
    seq = tiny["mots"] / "train" / "SYNTH-MOTS-01"
    (tmp_path / "masks.txt").write_text("")
    out = _cli(
        [
            "track",
            "mots",
            "--input",
            seq / "img1",
            "--masks",
            tmp_path / "masks.txt",
            "--model",
            "color",
            "--out",
            tmp_path / "o1",
            "--no-vis",
            "--no-progress",
        ]
    )
    assert out.returncode == 0
    assert "--masks" in _one_line(out, "unitrack track mots: warning: ") and (tmp_path / "o1").is_dir()
    det = sorted((tiny["posetrack"] / "detections" / "val").glob("*.json"))[0]
    data = json.loads(det.read_text())
    for ann in data.get("annotations", []):
        ann["keypoints"] = [v if i % 3 == 2 else v + 10000 for i, v in enumerate(ann["keypoints"])]
    (tmp_path / "poses.json").write_text(json.dumps(data))
    img_dir = tiny["posetrack"] / "images" / "val" / det.stem
    out = _cli(
        [
            "track",
            "posetrack",
            "--input",
            img_dir,
            "--poses",
            tmp_path / "poses.json",
            "--model",
            "color",
            "--out",
            tmp_path / "o2",
            "--no-vis",
            "--no-progress",
        ]
    )
    assert out.returncode == 0
    assert "no visible joint lies inside" in _one_line(out, "unitrack track posetrack: warning: ")


# ------------------------------------------------------------------------------------------------ 9. pictures
def test_radar_axes_are_absolute_and_the_title_names_what_was_compared(tmp_path):
    from unitrack.evaluation.report import radar_axes, radar_plot, radar_title

    res = {
        "a": {"mots": {"idf1": 60.0, "hota": 50.0, "smotsa": 52.7}, "posetrack": {"ids": 120}},
        "b": {"mots": {"idf1": 61.0, "hota": 50.5, "smotsa": 53.3}, "posetrack": {"ids": 80}},
    }
    names, values, lo, hi = radar_axes(res, ["mots", "posetrack"])
    assert names == ["MOTS IDF1", "MOTS HOTA", "MOTS sMOTSA"]  # IDs (a count) is not on a percentage axis
    np.testing.assert_array_equal(values, [[60.0, 50.0, 52.7], [61.0, 50.5, 53.3]])  # raw values, not min-max
    assert (lo, hi) == (0.0, 100.0)
    res["a"]["mots"]["smotsa"] = -12.0
    assert radar_axes(res, ["mots"])[2] == -25.0  # a negative sMOTSA extends the one shared scale
    title = radar_title(["a", "b"], "synthetic-small (seed 0)")
    assert title == "a vs b\non synthetic-small (seed 0)"
    pytest.importorskip("matplotlib")
    assert radar_plot(res, ["mots"], os.fspath(tmp_path / "r.png"), benchmark="x") == os.fspath(tmp_path / "r.png")
    assert _all_files(tmp_path) == ["r.png"]


def test_overlay_style_scales_with_the_frame():
    from unitrack.viz import overlay_style

    small, sd, big = overlay_style((96, 128)), overlay_style((480, 640)), overlay_style((2160, 3840))
    assert small["thickness"] >= 2 and small["scale"] >= 0.4  # readable floors
    assert big["thickness"] >= 5 * sd["thickness"] and big["scale"] >= 5 * sd["scale"]  # no hair-thin 4K lines


def test_boxes_have_a_dark_outline_and_sot_uses_a_bright_colour(tiny, tmp_path):
    from unitrack.cli_track import SOT_COLOR
    from unitrack.data.video import open_frames
    from unitrack.viz import draw_boxes

    img = np.full((60, 80, 3), 200, np.uint8)
    out = draw_boxes(img, [[20, 20, 30, 20]], ["x"], color=(255, 221, 0), thickness=2, show_ids=False)
    assert tuple(out[30, 20]) == (255, 221, 0)  # the box line
    assert out[30, 18].max() < 60 and out[30, 22].max() < 60  # dark on both sides: visible on light backgrounds
    # the SOT overlay of the CLI: the yellow box on the target of frame 0
    res = tmp_path / "o"
    args = _sot_args(tiny)
    assert (
        _cli(["track", "sot", *args, "--model", "color", "--out", res, "--save-frames", "--no-progress"]).returncode
        == 0
    )
    frame0 = open_frames(res / "Synth01_vis")[0]
    x, y, w, h = (float(v) for v in args[3].split(","))
    edge = frame0[int(y + h / 2), int(round(x))].astype(int)
    assert np.abs(edge - SOT_COLOR).max() < 60, edge  # jpg-compressed, still clearly the box colour


# ---------------------------------------------------------------------------------- 10. reports say what ran
def test_results_md_says_what_was_run(tmp_path):
    from unitrack.evaluation import evaluate
    from unitrack.evaluation.report import BUILTIN_BENCHMARK_NOTE

    res = evaluate(["color"], ["vos"], data="synthetic-tiny", out_root=str(tmp_path), progress=False, max_sequences=1)
    md = (tmp_path / "results.md").read_text()
    assert "unitrack built-in synthetic benchmark, size `tiny`, seed 0" in md
    assert "vos 1 (synth-vos-01)" in md and "--max-sequences" in md
    assert "`color`: color-mean (ColorStatsModel: training-free, no weights)" in md
    assert "**Machine:** " in md and f"torch {torch.__version__}" in md and f"{os.cpu_count()} cores" in md
    assert BUILTIN_BENCHMARK_NOTE in md
    meta = json.loads((tmp_path / "results.json").read_text())["meta"]
    assert meta["benchmark"]["seed"] == 0 and meta["sequences"] == {"vos": ["synth-vos-01"]}
    assert res["meta"]["representations"]["color"].startswith("color-mean")


def test_describe_model_names_the_weights(tmp_path):
    from unitrack.evaluation.report import describe_model
    from unitrack.model import build_model

    assert "random init" in describe_model("resnet18:random", build_model("resnet18:random"))
    m = build_model("resnet18:random")
    torch.save(m.backbone.state_dict(), tmp_path / "w.pth")
    d = describe_model("x", build_model(f"resnet18:{tmp_path / 'w.pth'}"))
    assert os.fspath(tmp_path / "w.pth") in d and "tensors loaded" in d


# ------------------------------------------------------------------------------------------- 11. uniform heads
def _vos_inputs(tiny):
    from unitrack.data.davis import DavisDataset

    seq = DavisDataset(os.fspath(tiny["vos"]), split="val")["synth-vos-01"]
    frames = seq.load_frames()
    folder = Path(seq.frame_paths[0]).parent
    return seq, frames, folder


def test_sequence_runners_take_the_same_inputs_and_record_timings(tiny):
    from unitrack.heads.poseprop import PosePropagator
    from unitrack.heads.sot import SOT_STAGES, make_tracker
    from unitrack.heads.vos import PROP_STAGES, VOSTracker
    from unitrack.model import build_model

    model = build_model("color")
    seq, frames, folder = _vos_inputs(tiny)
    first = seq.load_mask(0)
    forms = {
        "arrays": frames,
        "paths": list(seq.frame_paths),
        "array [T,H,W,3]": np.stack(frames),
        "folder": os.fspath(folder),
    }
    ref_masks = ref_boxes = ref_joints = None
    ys, xs = np.nonzero(first)
    box = [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
    joints = np.stack([xs[:15], ys[:15]], 1).astype(float)
    for name, f in forms.items():
        vos = VOSTracker(model)
        masks = vos.run(f, first)
        sot = make_tracker(model, "xcorr")
        boxes = sot.run(f, box, progress=False)
        pose = PosePropagator(model)
        js = pose.run(f, joints)
        if ref_masks is None:
            ref_masks, ref_boxes, ref_joints = masks, boxes, js
        assert len(masks) == len(frames), name
        for a, b in zip(masks, ref_masks):
            np.testing.assert_array_equal(a, b, err_msg=name)
        np.testing.assert_allclose(boxes, ref_boxes, err_msg=name)
        np.testing.assert_allclose(js, ref_joints, err_msg=name)
        for head, stages in ((vos, PROP_STAGES), (pose, PROP_STAGES), (sot, SOT_STAGES)):
            t = head.timings
            assert list(t) == list(stages), (name, type(head).__name__)
            assert t["backbone"] > 0 and t["total"] >= t["backbone"], (name, type(head).__name__, t)
    # the first mask may also be the PNG path; track() takes paths like init()
    vos = VOSTracker(model)
    masks = vos.run(list(seq.frame_paths), seq.annotation_paths[0])
    np.testing.assert_array_equal(masks[-1], ref_masks[-1])
    vos.init(seq.frame_paths[0], seq.annotation_paths[0])
    np.testing.assert_array_equal(vos.track(seq.frame_paths[1]), ref_masks[1])
    assert vos.timings["total"] > 0


# ----------------------------------------------------------------------------------------- the shared machinery
def test_run_command_maps_every_outcome_to_one_line(capsys, monkeypatch):
    from unitrack.cli_common import CLIError, run_command

    def raiser(exc):
        def f(args):
            raise exc

        return f

    ns = argparse.Namespace()
    assert run_command("unitrack x", lambda a: 0, ns) == 0
    assert run_command("unitrack x", raiser(KeyboardInterrupt()), ns, interrupted="nothing left") == 130
    assert capsys.readouterr().err == "unitrack x: interrupted; nothing left\n"
    assert run_command("unitrack x", raiser(CLIError("--out 'y': bad\n  indeed")), ns) == 2
    assert capsys.readouterr().err == "unitrack x: error: --out 'y': bad indeed\n"
    assert run_command("unitrack x", raiser(PermissionError(13, "Permission denied", "/p")), ns) == 2
    assert capsys.readouterr().err == "unitrack x: error: Permission denied: '/p'\n"
    assert run_command("unitrack x", raiser(ZeroDivisionError("division by zero")), ns) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: ZeroDivisionError" in err and "UNITRACK_TRACEBACK=1" in err
    monkeypatch.setenv("UNITRACK_TRACEBACK", "1")
    with pytest.raises(ZeroDivisionError):
        run_command("unitrack x", raiser(ZeroDivisionError("division by zero")), ns)


def test_partial_outputs_are_renamed_when_complete_and_removed_otherwise(tmp_path):
    from unitrack.cli_common import partial_dir, partial_file

    (tmp_path / "r.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with partial_file(tmp_path / "r.txt") as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert _all_files(tmp_path) == ["r.txt"] and (tmp_path / "r.txt").read_text() == "old"
    with partial_file(tmp_path / "r.txt") as tmp:
        assert tmp.suffix == ".txt" and tmp.parent == tmp_path
        tmp.write_text("new")
    assert (tmp_path / "r.txt").read_text() == "new"
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "stale.png").write_text("x")
    with pytest.raises(RuntimeError):
        with partial_dir(tmp_path / "d") as tmp:
            (tmp / "00000.png").write_text("half")
            raise RuntimeError("boom")
    assert _all_files(tmp_path) == ["d", "d/stale.png", "r.txt"]
    with partial_dir(tmp_path / "d") as tmp:
        (tmp / "00000.png").write_text("ok")
    assert _all_files(tmp_path) == ["d", "d/00000.png", "r.txt"]  # replaced: no stale frame survives


def test_eval_prints_one_line_per_distinct_work_item_error():
    from unitrack.evaluation.cli_eval import _group_errors

    errors = [f"m / mot / SEQ-{i}: ValueError: same problem" for i in range(5)] + ["m / vos / a: OSError: other"]
    assert _group_errors(errors) == [
        "ValueError: same problem (5 work items: m / mot / SEQ-0, m / mot / SEQ-1, m / mot / SEQ-2, ...)",
        "m / vos / a: OSError: other",
    ]
