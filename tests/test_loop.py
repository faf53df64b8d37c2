"""The training loop's optimiser (humanclap.train.loop.adamw): weight decay on matrices only,
one multi-tensor update per group."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from humanclap.train.loop import adamw  # noqa: E402


def _params() -> list[torch.nn.Parameter]:
    gen = torch.Generator().manual_seed(0)
    shapes = [(16, 8), (8,), (4, 4, 3), ()]
    return [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in shapes]


def test_groups_decay_matrices_only_with_the_multi_tensor_update():
    params = _params()
    opt = adamw(params, lr=1e-3, weight_decay=0.1)
    decay, no_decay = opt.param_groups
    assert [p.ndim for p in decay["params"]] == [2, 3] and decay["weight_decay"] == 0.1
    assert [p.ndim for p in no_decay["params"]] == [1, 0] and no_decay["weight_decay"] == 0.0
    assert opt.defaults["foreach"] is True and not opt.defaults["fused"]


def test_the_update_is_adamw_with_decoupled_decay():
    """One step by hand: with a fresh state, Adam's first step moves each weight by lr * sign
    of its gradient (up to eps), after decay by (1 - lr * weight_decay) for matrices only."""
    params = _params()
    before = [p.detach().clone() for p in params]
    grads = [torch.full_like(p, 0.5) for p in params]
    for p, g in zip(params, grads, strict=True):
        p.grad = g
    lr, wd = 1e-2, 0.1
    adamw(params, lr=lr, weight_decay=wd).step()
    for p, b in zip(params, before, strict=True):
        decayed = b * (1 - lr * wd) if b.ndim >= 2 else b
        torch.testing.assert_close(p.detach(), decayed - lr, rtol=0, atol=1e-6)
