"""Autograd of the fused ops (issue #16) and the rule that no op ever drops a gradient silently (issue #12 point 5).

Every ``torch.ops.unitrack.*`` op that takes tensors gets an autograd formula here, registered with
``torch.library.register_autograd`` (so eager autograd, ``torch.compile``/AOTAutograd and ``opcheck`` all see it);
the backward kernels are their own ops (``_<op>...`` schemas in ``csrc/unitrack.cpp``, torchvision style), with fake
kernels below and, where ``_C`` has no compiled kernel for a device, a pure-PyTorch reference registered in its place.

* ``topk_affinity`` -> d/d(query, keys) through the selected softmax weights (the selection is piecewise constant:
  as for ``torch.topk`` the gradient flows through the selected values only), and ``topk_propagate`` -> d/d(query,
  keys, labels). The forward saves only the selection (weights and indices, ``[B, K, H*W]``); the backward scatters
  through it with three primitives: ``_topk_gather`` (the label gather itself), ``_topk_gather_dot`` and
  ``_topk_scatter`` (its two adjoints). The three are closed under differentiation, so double backward works too.
  ``unitrack_ext.ops.topk_propagate`` under autograd runs ``topk_affinity`` + ``_topk_gather`` (saving the
  selection); the raw ``torch.ops.unitrack.topk_propagate``, which returns only the output, saves its inputs and
  recomputes the selection in its backward.
* ``rsm`` -> ``_rsm_backward`` (closed form, see csrc/cpu/kernels/rsm_backward.h); no double backward.
* ``xcorr`` -> ``_xcorr_grad_search`` / ``_xcorr_grad_templ`` (again closed under differentiation: double backward).

Any other op of the namespace (one added later without a formula) is registered as forward-only: calling it with grad
mode on and an input that requires grad raises at once, instead of returning an output whose gradients are ``None``.
"""

from __future__ import annotations

import torch

from . import HAS_EXT, _validate
from .reference import topk_backward as _ref_topk_bwd
from .reference import xcorr_backward as _ref_xcorr_bwd
from .reference.rsm_backward import rsm_backward as _ref_rsm_backward

__all__ = ["wants_grad", "guard_forward_only", "FORWARD_ONLY", "BACKWARD_OPS", "FORMULAS", "compiled_backward_kernels"]

# Backward primitives -> their pure-PyTorch reference (schema signature): the fallback of devices without a kernel.
BACKWARD_OPS = {
    "_topk_gather": _ref_topk_bwd.topk_gather,
    "_topk_gather_dot": _ref_topk_bwd.topk_gather_dot,
    "_topk_scatter": _ref_topk_bwd.topk_scatter,
    "_rsm_backward": _ref_rsm_backward,
    "_xcorr_grad_search": _ref_xcorr_bwd.xcorr_grad_search,
    "_xcorr_grad_templ": _ref_xcorr_bwd.xcorr_grad_templ,
}
# Ops registered as forward-only by the safety net below (none today).
FORWARD_ONLY: list[str] = []
compiled_backward_kernels: dict[str, dict[str, bool]] = {}


def wants_grad(*tensors) -> bool:
    """Whether autograd will record a call on these tensors (grad mode on and one of them requires grad)."""
    return torch.is_grad_enabled() and any(isinstance(t, torch.Tensor) and t.requires_grad for t in tensors)


def _op(name: str):
    return getattr(torch.ops.unitrack, name).default


# ---------------------------------------------------------------------------------------------------------------------
# Fake kernels of the backward primitives (shapes only).


def _register_fakes() -> None:
    @torch.library.register_fake("unitrack::_topk_gather")
    def _topk_gather_fake(weights, indices, src):
        torch._check(weights.dim() == 3, lambda: f"weights must be [B, K, H*W], got {weights.dim()}-D")
        torch._check(src.dim() == 5, lambda: f"src must be [B, T, X, H, W], got {src.dim()}-D")
        B, _, X, H, W = src.shape
        return src.new_empty((B, X, H, W))

    @torch.library.register_fake("unitrack::_topk_gather_dot")
    def _topk_gather_dot_fake(grad, indices, src):
        torch._check(indices.dim() == 3, lambda: f"indices must be [B, K, H*W], got {indices.dim()}-D")
        return grad.new_empty(indices.shape)

    @torch.library.register_fake("unitrack::_topk_scatter")
    def _topk_scatter_fake(weights, indices, grad, T):
        torch._check(grad.dim() == 4, lambda: f"grad must be [B, X, H, W], got {grad.dim()}-D")
        B, X, H, W = grad.shape
        return grad.new_empty((B, T, X, H, W))

    @torch.library.register_fake("unitrack::_rsm_backward")
    def _rsm_backward_fake(grad, track_points, track_sizes, det_points, det_sizes, temperature):
        torch._check(grad.dim() == 2, lambda: f"grad must be [N, M], got {grad.dim()}-D")
        return torch.empty_like(track_points), torch.empty_like(det_points)

    @torch.library.register_fake("unitrack::_xcorr_grad_search")
    def _xcorr_grad_search_fake(grad, templ):
        torch._check(grad.dim() == 3, lambda: f"grad must be [S, Ho, Wo], got {grad.dim()}-D")
        S, Ho, Wo = grad.shape
        C, h, w = templ.shape[-3:]
        return grad.new_empty((S, C, Ho + h - 1, Wo + w - 1))

    @torch.library.register_fake("unitrack::_xcorr_grad_templ")
    def _xcorr_grad_templ_fake(search, grad, per_scale):
        torch._check(search.dim() == 4, lambda: f"search must be [S, C, H, W], got {search.dim()}-D")
        S, C, H, W = search.shape
        h, w = H - grad.shape[1] + 1, W - grad.shape[2] + 1
        return search.new_empty((S, C, h, w) if per_scale else (C, h, w))


# ---------------------------------------------------------------------------------------------------------------------
# topk_affinity / topk_propagate and their primitives.


def _softmax_backward(grad_weights, weights, temperature):
    """d loss / d logits of ``weights = softmax(logits / temperature)`` over the K selected values (dim 1)."""
    return weights * (grad_weights - (weights * grad_weights).sum(1, keepdim=True)) / temperature


def _affinity_input_grads(need_query, need_keys, grad_logits, indices, query, keys):
    """(d/d query, d/d keys) from the gradient of the K selected logits ``<query[:, n], keys[m_k]>``."""
    gq = _op("_topk_gather")(grad_logits, indices, keys) if need_query else None
    gk = _op("_topk_scatter")(grad_logits, indices, query, keys.shape[1]) if need_keys else None
    return gq, gk


def _topk_affinity_setup(ctx, inputs, output):
    query, keys, _topk, temperature, _radius, _n_global = inputs
    weights, indices = output
    ctx.mark_non_differentiable(indices)
    ctx.save_for_backward(query, keys, weights, indices)
    ctx.temperature = temperature


def _topk_affinity_backward(ctx, grad_weights, _grad_indices):
    query, keys, weights, indices = ctx.saved_tensors
    need_q, need_k = ctx.needs_input_grad[:2]
    gq = gk = None
    if grad_weights is not None and (need_q or need_k):
        gs = _softmax_backward(grad_weights, weights, ctx.temperature)
        gq, gk = _affinity_input_grads(need_q, need_k, gs, indices, query, keys)
    return gq, gk, None, None, None, None


def _propagate_grads(needs, grad, weights, indices, query, keys, labels, temperature):
    """Gradients of ``out = _topk_gather(weights(query, keys), indices, labels)`` for the requested inputs."""
    need_q, need_k, need_l = needs
    gl = _op("_topk_scatter")(weights, indices, grad, labels.shape[1]) if need_l else None
    gq = gk = None
    if need_q or need_k:
        gw = _op("_topk_gather_dot")(grad, indices, labels)
        gq, gk = _affinity_input_grads(
            need_q, need_k, _softmax_backward(gw, weights, temperature), indices, query, keys
        )
    return gq, gk, gl


def _topk_propagate_setup(ctx, inputs, output):
    query, keys, labels, topk, temperature, radius, n_global = inputs
    # This raw op returns only its output: save the inputs (no copy) and recompute the selection in backward.
    ctx.save_for_backward(query, keys, labels)
    ctx.params = (topk, temperature, radius, n_global)


def _topk_propagate_backward(ctx, grad):
    query, keys, labels = ctx.saved_tensors
    topk, temperature, radius, n_global = ctx.params
    weights, indices = _op("topk_affinity")(query, keys, topk, temperature, radius, n_global)
    grads = _propagate_grads(ctx.needs_input_grad[:3], grad, weights, indices, query, keys, labels, temperature)
    return (*grads, None, None, None, None)


def _save_all(ctx, inputs, output):
    ctx.save_for_backward(*[x for x in inputs if isinstance(x, torch.Tensor)])
    ctx.extra = [x for x in inputs if not isinstance(x, torch.Tensor)]


def _topk_gather_backward(ctx, grad):
    weights, indices, src = ctx.saved_tensors
    need_w, _, need_src = ctx.needs_input_grad
    gw = _op("_topk_gather_dot")(grad, indices, src) if need_w else None
    gsrc = _op("_topk_scatter")(weights, indices, grad, src.shape[1]) if need_src else None
    return gw, None, gsrc


def _topk_gather_dot_backward(ctx, grad_out):
    grad, indices, src = ctx.saved_tensors
    need_g, _, need_src = ctx.needs_input_grad
    gg = _op("_topk_gather")(grad_out, indices, src) if need_g else None
    gsrc = _op("_topk_scatter")(grad_out, indices, grad, src.shape[1]) if need_src else None
    return gg, None, gsrc


def _topk_scatter_backward(ctx, grad_out):
    weights, indices, grad = ctx.saved_tensors
    need_w, _, need_g, _ = ctx.needs_input_grad
    gw = _op("_topk_gather_dot")(grad, indices, grad_out) if need_w else None
    gg = _op("_topk_gather")(weights, indices, grad_out) if need_g else None
    return gw, None, gg, None


def topk_propagate(query, keys, labels, topk, temperature, radius, n_global):
    """``torch.ops.unitrack.topk_propagate`` (batched inputs), saving the selection when autograd records the call:
    ``topk_affinity`` + ``_topk_gather`` instead of recomputing the selection in backward."""
    if wants_grad(query, keys, labels):
        # The labels' checks of topk_propagate itself (the split path below never runs them), by the same names
        # (eager calls; under torch.compile the fake kernels of the two ops check the shapes).
        if not torch.compiler.is_compiling():
            _validate.topk_args(query, keys, labels, topk, temperature, radius, n_global, device=query.device.type)
            if query.device.type == "cpu":
                _validate.check_finite(labels, "labels")
        weights, indices = _op("topk_affinity")(query, keys, topk, temperature, radius, n_global)
        return _op("_topk_gather")(weights, indices, labels)
    return _op("topk_propagate")(query, keys, labels, topk, temperature, radius, n_global)


# ---------------------------------------------------------------------------------------------------------------------
# rsm.


def _rsm_setup(ctx, inputs, output):
    track_points, track_sizes, det_points, det_sizes, temperature = inputs
    ctx.save_for_backward(track_points, track_sizes, det_points, det_sizes)
    ctx.temperature = temperature


def _rsm_backward(ctx, grad):
    track_points, track_sizes, det_points, det_sizes = ctx.saved_tensors
    need_t, _, need_d = ctx.needs_input_grad[:3]
    gt = gd = None
    if need_t or need_d:
        gt, gd = _op("_rsm_backward")(grad, track_points, track_sizes, det_points, det_sizes, ctx.temperature)
    return (gt if need_t else None), None, (gd if need_d else None), None, None


# ---------------------------------------------------------------------------------------------------------------------
# xcorr: grad_search(g, T) and grad_templ(X, g) are bilinear; their adjoints are xcorr and each other.


def _xcorr_setup(ctx, inputs, output):
    ctx.save_for_backward(*inputs)


def _xcorr_backward(ctx, grad):
    search, templ = ctx.saved_tensors
    need_s, need_t = ctx.needs_input_grad
    gs = _op("_xcorr_grad_search")(grad, templ) if need_s else None
    gt = _op("_xcorr_grad_templ")(search, grad, templ.dim() == 4) if need_t else None
    return gs, gt


def _xcorr_grad_search_backward(ctx, grad_out):
    grad, templ = ctx.saved_tensors
    need_g, need_t = ctx.needs_input_grad
    gg = _op("xcorr")(grad_out, templ) if need_g else None
    gt = _op("_xcorr_grad_templ")(grad_out, grad, templ.dim() == 4) if need_t else None
    return gg, gt


def _xcorr_grad_templ_backward(ctx, grad_out):
    search, grad = ctx.saved_tensors
    need_s, need_g, _ = ctx.needs_input_grad
    gs = _op("_xcorr_grad_search")(grad, grad_out) if need_s else None
    gg = _op("xcorr")(search, grad_out) if need_g else None
    return gs, gg, None


def _no_double_backward(op: str):
    def backward(ctx, *grads):
        raise RuntimeError(
            f"unitrack::{op} has no double backward: second-order gradients through it are not implemented "
            "(first-order gradients, also with create_graph=True, are)"
        )

    return backward, None


# ---------------------------------------------------------------------------------------------------------------------
# Registration.


def _forward_only(qualname: str):
    def setup_context(ctx, inputs, output):
        raise RuntimeError(
            f"{qualname} is forward-only: it has no backward formula, so it cannot be called with grad mode on "
            "and an input that requires grad (its gradients would be missing). Call it under torch.no_grad() or on "
            "detached inputs."
        )

    def backward(ctx, *grads):  # pragma: no cover - setup_context raises first
        raise RuntimeError(f"{qualname} is forward-only")

    return backward, setup_context


FORMULAS = {
    "topk_affinity": (_topk_affinity_backward, _topk_affinity_setup),
    "topk_propagate": (_topk_propagate_backward, _topk_propagate_setup),
    "_topk_gather": (_topk_gather_backward, _save_all),
    "_topk_gather_dot": (_topk_gather_dot_backward, _save_all),
    "_topk_scatter": (_topk_scatter_backward, _save_all),
    "rsm": (_rsm_backward, _rsm_setup),
    "_rsm_backward": _no_double_backward("rsm"),
    "xcorr": (_xcorr_backward, _xcorr_setup),
    "_xcorr_grad_search": (_xcorr_grad_search_backward, _save_all),
    "_xcorr_grad_templ": (_xcorr_grad_templ_backward, _save_all),
}


def _takes_tensors(op) -> bool:
    return any("Tensor" in str(a.type) for a in op._schema.arguments)


def guard_forward_only(namespace: str) -> list[str]:
    """Register the forward-only guard on every op of ``namespace`` that takes tensors and has no autograd formula
    (no Autograd or CompositeImplicitAutograd kernel); returns their names. Run for ``unitrack`` at import."""
    guarded = []
    prefix = f"{namespace}::"
    for qualname in sorted(n for n in torch._C._dispatch_get_all_op_names() if n.startswith(prefix)):
        if any(
            torch._C._dispatch_has_kernel_for_dispatch_key(qualname, key)
            for key in ("Autograd", "CompositeImplicitAutograd")
        ):
            continue
        name = qualname[len(prefix) :]
        if not _takes_tensors(getattr(getattr(torch.ops, namespace), name).default):
            continue
        backward, setup = _forward_only(qualname)
        torch.library.register_autograd(qualname, backward, setup_context=setup)
        guarded.append(name)
    return guarded


def _register() -> None:
    _register_fakes()
    for name, ref in BACKWARD_OPS.items():
        compiled_backward_kernels[name] = {}
        for device, key in (("cpu", "CPU"), ("cuda", "CUDA")):
            has = bool(torch._C._dispatch_has_kernel_for_dispatch_key(f"unitrack::{name}", key))
            compiled_backward_kernels[name][device] = has
            if not has:
                torch.library.register_kernel(f"unitrack::{name}", device, ref)
    for name, (backward, setup) in FORMULAS.items():
        torch.library.register_autograd(f"unitrack::{name}", backward, setup_context=setup)
    # The safety net (issue #12 point 5): every other op that takes tensors is forward-only, loudly.
    FORWARD_ONLY.extend(guard_forward_only("unitrack"))


if HAS_EXT:
    _register()
