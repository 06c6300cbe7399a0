"""The house rules of the framework (issue 14): one source per table, reader and task list."""

from __future__ import annotations

import numpy as np
import pytest


def test_skeleton_and_palette_tables_have_one_source():
    from unitrack import viz
    from unitrack.association import features
    from unitrack.data import posetrack, skeletons
    from unitrack.data.synthetic import render, scenes, writers

    # every module re-uses the objects of unitrack.data.skeletons, none keeps a copy
    assert viz.JHMDB_JOINTS is skeletons.JHMDB_JOINTS and render.JHMDB_JOINTS is skeletons.JHMDB_JOINTS
    assert (
        viz.POSETRACK_JOINTS is skeletons.POSETRACK_JOINTS and posetrack.POSETRACK_JOINTS is skeletons.POSETRACK_JOINTS
    )
    assert posetrack.POSETRACK18_KEYPOINTS is skeletons.POSETRACK18_KEYPOINTS
    assert scenes.POSETRACK_KEYPOINTS is skeletons.POSETRACK18_KEYPOINTS
    assert viz.SKELETONS is skeletons.SKELETONS and viz.POSETRACK18_LIMBS is skeletons.POSETRACK18_LIMBS
    assert features.POSE_LIMBS is skeletons.POSETRACK_MASK_LIMBS and features.POSE_TRUNK is skeletons.POSETRACK_TRUNK
    # the drawn skeleton is the rasterised one plus head_bottom -- nose
    assert skeletons.POSETRACK_LIMBS[:-1] == skeletons.POSETRACK_MASK_LIMBS
    assert {skeletons.POSETRACK_JOINTS[i] for i in skeletons.POSETRACK_LIMBS[-1]} == {"head_bottom", "nose"}
    # the synthetic writers' palette and PoseTrack-18 skeleton are the shared ones
    assert writers.davis_palette() == skeletons.palette_bytes()
    assert writers.POSETRACK_SKELETON == [list(p) for p in skeletons.POSETRACK18_SKELETON]
    np.testing.assert_array_equal(viz.davis_palette(4), skeletons.davis_palette(4))


def test_one_iou_module_serves_association_and_metrics():
    from unitrack import iou
    from unitrack.association import iou as assoc_iou
    from unitrack.association import matching, tracker
    from unitrack.metrics import mot, mots

    assert mot.box_iou_xywh is iou.box_iou_xywh and mots.mask_iou is iou.mask_iou and matching.box_iou is iou.box_iou
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 50, (7, 2))
    a = np.concatenate([a, a + rng.uniform(0, 30, (7, 2))], axis=1)
    b = rng.uniform(0, 50, (5, 2))
    b = np.concatenate([b, b + rng.uniform(0, 30, (5, 2))], axis=1)
    want = iou.iou_plus1(a, b)
    # the validated public IoU and the tracker's unvalidated one (Kalman boxes) are the same numbers on valid boxes
    np.testing.assert_array_equal(assoc_iou(a, b), want)
    np.testing.assert_array_equal(iou.iou_plus1(a, b, validate=False), want)

    class _T:  # what _iou_cost reads from a track
        def __init__(self, tlbr):
            self.tlbr = tlbr

    cost = tracker._iou_cost([_T(x) for x in a], [_T(x) for x in b])
    np.testing.assert_array_equal(cost, 1.0 - want)
    # a degenerate Kalman box with a non-positive union has IoU 0 instead of a division by zero
    odd = np.array([[10.0, 10.0, 9.0, 20.0]])  # x2 = x1 - 1: zero area, zero union
    assert iou.iou_plus1(odd, odd, validate=False)[0, 0] == 0.0
    with pytest.raises(ValueError, match="atlbrs"):
        iou.iou_plus1(odd, odd)


def _package_sources():
    import pathlib

    import unitrack

    root = pathlib.Path(unitrack.__file__).parent
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in root.rglob("*.py")}


def test_one_image_reader_and_one_frame_source():
    # images are decoded only in data/images.py, videos only in data/video.py
    for rel, text in _package_sources().items():
        if rel != "data/images.py":
            assert "imread(" not in text and "Image.open(" not in text, rel
        if rel != "data/video.py":
            assert "VideoCapture(" not in text, rel
    import unitrack.heads._common as common

    assert not hasattr(common, "FrameSource")


def test_switching_frame_decoders_kept_the_pixels(tmp_path):
    """DAVIS and JHMDB frames used to be decoded with Pillow; they now go through read_image (OpenCV). Both decode
    JPEGs (every chroma subsampling) and PNGs to the same pixels."""
    import cv2
    from PIL import Image

    from unitrack.data.images import read_image

    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur((rng.random((61, 83, 3)) * 255).astype(np.uint8), (5, 5), 2)
    for name, save in [
        ("a.jpg", dict(quality=90, subsampling=2)),
        ("b.jpg", dict(quality=75, subsampling=1)),
        ("c.jpg", dict(quality=95, subsampling=0)),
        ("d.png", {}),
    ]:
        Image.fromarray(img).save(tmp_path / name, **save)
        with Image.open(tmp_path / name) as im:
            want = np.asarray(im.convert("RGB"))
        np.testing.assert_array_equal(read_image(tmp_path / name), want)


def test_association_heads_read_a_frames_folder_in_natural_order(tmp_path):
    """track_mot used its own frame source that sorted by name (f10 before f2); now every folder is read in natural
    order, as `unitrack track` always did."""
    import cv2
    import torch

    from unitrack.association import mot_config
    from unitrack.heads.mot import track_mot

    for i in (1, 2, 3, 10, 11):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.full((48, 64, 3), 10 * i, np.uint8))
    (tmp_path / "det.txt").write_text("1,-1,5,5,20,30,0.9\n")

    class Recorder:  # a FeatureExtractor stand-in that records which frame it sees
        seen: list = []

        def features(self, img):
            self.seen.append(int(img[0, 0, 0]))
            return torch.zeros(1, 4, 6, 8)

    model = Recorder()
    track_mot(
        model,
        tmp_path,
        tmp_path / "det.txt",
        tmp_path / "out.txt",
        config=mot_config(img_size=(64, 48)),
        progress=False,
    )
    assert model.seen == [10, 20, 30, 100, 110]


def test_one_task_table_read_by_cli_platform_and_synthetic_benchmark():
    import argparse

    from unitrack import evaluation, tasks
    from unitrack.cli import build_parser
    from unitrack.data import synthetic
    from unitrack.evaluation.tasks import TaskAdapter, get_task

    names = tasks.TASK_NAMES
    assert names == ("sot", "vos", "poseprop", "mot", "mots", "posetrack")
    assert evaluation.ALL_TASKS == names and synthetic.TASKS == names
    assert synthetic.TASK_ROOTS == {t.name: t.folder for t in tasks.TASKS}
    for t in tasks.TASKS:
        adapter = get_task(t.name)
        assert isinstance(adapter, TaskAdapter)
        module, cls = t.adapter.split(":")
        assert type(adapter).__module__ == module and type(adapter).__name__ == cls
        assert module.rsplit(".", 1)[1] == t.name  # one adapter module per task, named like its head
    # the command line: one `track` sub-command and one `eval` dataset option per task
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    track = sub.choices["track"]
    track_tasks = next(a for a in track._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert tuple(track_tasks) == names
    eval_opts = {o for a in sub.choices["eval"]._actions for o in a.option_strings}
    assert {t.option for t in tasks.TASKS} <= eval_opts


def test_adapters_do_not_register_themselves(monkeypatch):
    import importlib

    from unitrack.evaluation import tasks as ev_tasks

    monkeypatch.setattr(ev_tasks, "_ADAPTERS", {})
    for t in ("sot", "vos", "poseprop", "mot", "mots", "posetrack"):
        importlib.import_module(f"unitrack.evaluation.adapters.{t}")
    assert ev_tasks._ADAPTERS == {}  # importing an adapter registers nothing; get_task loads from the table
    assert type(ev_tasks.get_task("mots")).__name__ == "MOTSAdapter"
    with pytest.raises(ValueError, match="unknown task 'bogus'.*sot, vos, poseprop, mot, mots, posetrack"):
        ev_tasks.get_task("bogus")
    with pytest.raises(TypeError, match="sequences, run and evaluate"):
        ev_tasks.register_task("x", object())


def _cli_surface() -> dict:
    import argparse

    from unitrack.cli import build_parser

    def walk(p, name="unitrack"):
        yield name, p
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for sub_name, sub in a.choices.items():
                    yield from walk(sub, f"{name} {sub_name}")

    out = {}
    for name, p in walk(build_parser()):
        rows = []
        for a in p._actions:
            if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction, argparse._VersionAction)):
                continue
            default = "<callable>" if callable(a.default) else a.default
            rows.append(
                f"{'/'.join(a.option_strings) or a.dest} dest={a.dest} default={default!r} "
                f"required={a.required} choices={list(a.choices) if a.choices else None} nargs={a.nargs} "
                f"const={a.const!r}"
            )
        out[name] = sorted(rows)
    return out


def test_every_cli_command_and_flag_is_kept():
    from _cli_surface import SURFACE

    assert _cli_surface() == SURFACE


def test_one_cli_package_one_module_per_subcommand():
    import importlib

    from unitrack import cli

    names = [name for _, name in cli.SUBCOMMANDS]
    assert names == ["env", "eval", "track", "eval-mot", "models", "synth", "vos", "poseprop"]
    for module, name in cli.SUBCOMMANDS:
        assert module == "unitrack.cli." + name.replace("-", "_")
        assert callable(importlib.import_module(module).add_parser)
    # no other module of the framework builds an argument parser or parses arguments
    for rel, text in _package_sources().items():
        if not rel.startswith("cli/"):
            assert "ArgumentParser" not in text and "add_argument(" not in text and "parse_args" not in text, rel


#: What a head may take from data/: frame and id-mask decoding, the frame source, skeleton tables and the MOTS mask
#: codec (the MOTS head accepts RLE masks). No dataset reader or writer.
HEAD_DATA_IMPORTS = {
    "unitrack.data.images": {"read_image", "read_id_mask"},
    "unitrack.data.video": {"sequence_frames"},
    "unitrack.data.skeletons": {"POSETRACK_JOINTS"},
    "unitrack.data.mots": {"decode_rle", "PEDESTRIAN"},
}
COMPAT = "# compatibility re-export"


def _module_name(path) -> str:
    import unitrack

    rel = path.relative_to(__import__("pathlib").Path(unitrack.__file__).parent.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """``(module, names, line text, enclosing function)`` of every import in a module (relative imports resolved)."""
    import ast

    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = []

    def visit(node, func):
        for child in ast.iter_child_nodes(node):
            f = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else func
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - child.level + 1]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module
                out.append((mod, {a.name for a in child.names}, lines[child.lineno - 1], f))
            elif isinstance(child, ast.Import):
                for a in child.names:
                    out.append((a.name, set(), lines[child.lineno - 1], f))
            visit(child, f)

    visit(ast.parse(text), None)
    return out


def test_heads_are_pure():
    """Heads take frames and their task's inputs and return per-frame outputs: they read no dataset, compute no metric
    and parse no argument. The dataset runs they used to carry are compatibility re-exports (marked, lazy)."""
    import pathlib

    import unitrack.heads

    for path in sorted(pathlib.Path(unitrack.heads.__file__).parent.glob("*.py")):
        for mod, names, line, func in _imports(path):
            where = f"{path.name}: {line.strip()}"
            if COMPAT in line:
                assert func in ("__getattr__", "run") and mod.startswith("unitrack.") and ".heads" not in mod, where
                continue
            assert mod != "argparse", where
            assert not mod.startswith(("unitrack.metrics", "unitrack.evaluation", "unitrack.cli")), where
            if mod.startswith("unitrack.data"):
                assert names <= HEAD_DATA_IMPORTS.get(mod, set()), where


# ------------------------------------------------------------------------------------------- floors and cycles
#: The floors of the house (ARCHITECTURE.md), lowest first: a module may import its own package and lower floors.
FLOORS = {
    "unitrack.tasks": 0,
    "unitrack.iou": 0,  # tables, geometry
    "unitrack.data": 1,  # readers, writers, frames
    "unitrack.model": 2,
    "unitrack.metrics": 2,
    "unitrack.viz": 2,  # level 1; knows no model
    "unitrack.propagation": 3,
    "unitrack.association": 3,  # level 2: primitives
    "unitrack.heads": 4,  # level 3: task heads
    "unitrack.evaluation": 5,  # platform, task adapters
    "unitrack": 6,  # the facade (unitrack.associate...)
    "unitrack.cli": 7,  # the command line
}
#: Whole modules kept only so that old import paths work; nothing in the package imports them.
COMPAT_MODULES = {
    "unitrack.cli_common",
    "unitrack.cli_track",
    "unitrack.evaluation.cli_eval",
    "unitrack.metrics.cli_mot",
    "unitrack.model.cli",
    "unitrack.data.palette",
    "unitrack.evaluation.adapters_mot",
}
#: Modules whose names point to a new home through a lazy, marked import (module ``__getattr__`` or a head's ``run``).
COMPAT_SHIMS = {
    "unitrack.heads.sot",
    "unitrack.heads.vos",
    "unitrack.heads.poseprop",
    "unitrack.heads.mot",
    "unitrack.heads.mots",
    "unitrack.heads.posetrack",
    "unitrack.data.synthetic",
}


def _floor(module: str) -> tuple[str, int]:
    best = max((k for k in FLOORS if module == k or module.startswith(k + ".")), key=len)
    return best, FLOORS[best]


def _import_graph():
    """module -> {(imported module, is a marked compatibility import)} over the whole package: module-level and
    function-level imports (a lazy import is still a dependency), without ``if TYPE_CHECKING:`` blocks."""
    import ast
    import pathlib

    import unitrack

    root = pathlib.Path(unitrack.__file__).parent
    paths = {_module_name(p): p for p in root.rglob("*.py")}
    graph = {}
    for mod, path in paths.items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        tree = ast.parse(text)
        typing_only = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)
        }
        edges = set()
        for node in ast.walk(tree):
            if id(node) in typing_only or not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = (
                    ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
                    if node.level
                    else node.module
                )
                # `from pkg import sub` depends on pkg.sub when it is a module, else on pkg
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in paths else base for a in node.names]
            compat = COMPAT in lines[node.lineno - 1]
            edges |= {(t, compat) for t in targets if t in paths and t != mod}
        graph[mod] = edges
    return graph


def test_no_upward_import_and_no_import_cycle():
    graph = _import_graph()
    entry_points = {m for m in graph if m.endswith("__main__")}
    upward, shims = [], set()
    for mod, edges in graph.items():
        if mod in COMPAT_MODULES or mod in entry_points:
            continue
        pkg, floor = _floor(mod)
        for dst, compat in edges:
            assert dst not in COMPAT_MODULES, f"{mod} imports the compatibility module {dst}"
            if compat:
                shims.add(mod)
                continue
            dpkg, dfloor = _floor(dst)
            if dpkg != pkg and dfloor >= floor:
                upward.append(f"{mod} (floor {floor}) -> {dst} (floor {dfloor})")
    assert upward == []
    assert shims == COMPAT_SHIMS
    # no module imports one that imports it back (compatibility imports aside)
    assert _cycles({m: {d for d, c in e if not c} for m, e in graph.items()}) == []


def _cycles(graph: dict) -> list:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def connect(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return cycles


def test_the_cycle_check_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_every_module_imports_on_its_own():
    """Each module of the package, imported first in a clean ``unitrack`` namespace (one fresh interpreter), imports
    without error: no import-order dependence, no import-time cycle."""
    import subprocess
    import sys

    code = (
        "import importlib, pkgutil, sys\n"
        "import torch, unitrack_ext\n"  # kept loaded: unitrack_ext registers its torch ops once
        "import unitrack\n"
        "names = sorted(m.name for m in pkgutil.walk_packages(unitrack.__path__, 'unitrack.')\n"
        "               if not m.name.endswith('__main__'))\n"
        "bad = []\n"
        "for n in names:\n"
        "    for k in [k for k in sys.modules if k == 'unitrack' or k.startswith('unitrack.')]:\n"
        "        del sys.modules[k]\n"
        "    try:\n"
        "        importlib.import_module(n)\n"
        "    except Exception as e:\n"
        "        bad.append(f'{n}: {e!r}')\n"
        "print(len(names))\n"
        "print('\\n'.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert int(lines[0]) > 60 and lines[1:] in ([], [""]), out.stdout
