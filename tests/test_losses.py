"""Tests for humanclap.losses against explicit float64 reference computations."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from humanclap import losses  # noqa: E402


# ----------------------------------------------------------------------------- references
def _unit(v: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v]


def _ref_logits(audio, text, scale) -> list[list[float]]:
    a = [_unit(row) for row in audio.tolist()]
    t = [_unit(row) for row in text.tolist()]
    return [[scale * sum(x * y for x, y in zip(ai, tj, strict=True)) for tj in t] for ai in a]


def _ref_ce(values: list[float], keep: list[bool], i: int) -> float:
    """-log softmax(values)_i over the kept entries, by hand."""
    kept = [v for v, k in zip(values, keep, strict=True) if k]
    top = max(kept)
    log_norm = top + math.log(sum(math.exp(v - top) for v in kept))
    return -(values[i] - log_norm)


def _ref_per_pair(audio, text, scale, mask=None) -> list[float]:
    logits = _ref_logits(audio, text, scale)
    n = len(logits)
    excl = mask.tolist() if mask is not None else [[False] * n for _ in range(n)]
    out = []
    for i in range(n):
        row = logits[i]
        col = [logits[j][i] for j in range(n)]
        keep_row = [not excl[i][j] for j in range(n)]
        keep_col = [not excl[j][i] for j in range(n)]
        out.append(0.5 * (_ref_ce(row, keep_row, i) + _ref_ce(col, keep_col, i)))
    return out


def _ref_cos(audio, text) -> list[float]:
    return [
        sum(x * y for x, y in zip(_unit(a), _unit(t), strict=True))
        for a, t in zip(audio.tolist(), text.tolist(), strict=True)
    ]


@pytest.fixture
def batch():
    gen = torch.Generator().manual_seed(0)
    n, d = 7, 5
    audio = torch.randn(n, d, generator=gen, dtype=torch.float64)
    text = torch.randn(n, d, generator=gen, dtype=torch.float64)
    target = torch.rand(n, generator=gen, dtype=torch.float64)
    return audio, text, target


# ----------------------------------------------------------------------------- values
@pytest.mark.parametrize("scale", [1.0, 14.3, 100.0])
def test_sce_matches_reference(batch, scale):
    audio, text, _ = batch
    expected = sum(_ref_per_pair(audio, text, scale)) / len(audio)
    got = losses.sce(audio, text, torch.tensor(scale, dtype=torch.float64))
    assert got.item() == pytest.approx(expected, rel=1e-10)


def test_wsce_matches_reference(batch):
    audio, text, target = batch
    per_pair = _ref_per_pair(audio, text, 10.0)
    expected = sum(w * p for w, p in zip(target.tolist(), per_pair, strict=True)) / len(audio)
    assert losses.wsce(audio, text, target, 10.0).item() == pytest.approx(expected, rel=1e-10)


def test_wsce_weight_edge_cases(batch):
    audio, text, _ = batch
    n = len(audio)
    s = losses.sce(audio, text, 5.0)
    assert losses.wsce(audio, text, torch.ones(n), 5.0).item() == pytest.approx(s.item())
    assert losses.wsce(audio, text, torch.zeros(n), 5.0).item() == 0.0
    per_pair = _ref_per_pair(audio, text, 5.0)
    for k in (0, 3, n - 1):
        one_hot = torch.zeros(n)
        one_hot[k] = 1.0
        got = losses.wsce(audio, text, one_hot, 5.0).item()
        assert got == pytest.approx(per_pair[k] / n, rel=1e-10)


def test_mae_mse_match_reference(batch):
    audio, text, target = batch
    cos = _ref_cos(audio, text)
    y = target.tolist()
    exp_mae = sum(abs(c - t) for c, t in zip(cos, y, strict=True)) / len(y)
    exp_mse = sum((c - t) ** 2 for c, t in zip(cos, y, strict=True)) / len(y)
    assert losses.mae(audio, text, target).item() == pytest.approx(exp_mae, rel=1e-10)
    assert losses.mse(audio, text, target).item() == pytest.approx(exp_mse, rel=1e-10)


def test_losses_invariant_to_embedding_norm(batch):
    audio, text, target = batch
    scaled_a, scaled_t = audio * 3.7, text * 0.2
    assert losses.sce(scaled_a, scaled_t, 8.0).item() == pytest.approx(
        losses.sce(audio, text, 8.0).item(), rel=1e-12
    )
    assert losses.mae(scaled_a, scaled_t, target).item() == pytest.approx(
        losses.mae(audio, text, target).item(), rel=1e-12
    )


def test_combined_is_weighted_sum(batch):
    audio, text, target = batch
    scale = 12.0
    parts = {
        "wsce": losses.wsce(audio, text, target, scale).item(),
        "mse": losses.mse(audio, text, target).item(),
        "mae": losses.mae(audio, text, target).item(),
        "sce": losses.sce(audio, text, scale).item(),
    }
    got = losses.combined("wsce+mse+mae", audio, text, target, scale)
    assert got.item() == pytest.approx(parts["wsce"] + parts["mse"] + parts["mae"], rel=1e-12)
    got = losses.combined("WSCE + mae", audio, text, target, scale, lambdas={"mae": 0.5})
    assert got.item() == pytest.approx(parts["wsce"] + 0.5 * parts["mae"], rel=1e-12)
    got = losses.combined("mse+mae", audio, text, target, scale, lambdas=[2.0, 3.0])
    assert got.item() == pytest.approx(2 * parts["mse"] + 3 * parts["mae"], rel=1e-12)
    got, terms = losses.combined("sce", audio, text, None, scale, return_terms=True)
    assert got.item() == pytest.approx(parts["sce"], rel=1e-12)
    assert terms == pytest.approx({"sce": parts["sce"]})


def test_combined_rejects_bad_names_and_lambdas(batch):
    audio, text, target = batch
    with pytest.raises(ValueError, match="'huber'"):
        losses.combined("wsce+huber", audio, text, target, 1.0)
    with pytest.raises(ValueError, match="repeated"):
        losses.combined("mae+mae", audio, text, target, 1.0)
    with pytest.raises(ValueError, match="lambdas"):
        losses.combined("mae", audio, text, target, 1.0, lambdas={"mse": 1.0})
    with pytest.raises(ValueError, match="lambdas"):
        losses.combined("mae+mse", audio, text, target, 1.0, lambdas=[1.0])
    with pytest.raises(ValueError, match=r"'mse' is -1\.0; expected a finite number >= 0"):
        losses.combined("mae+mse", audio, text, target, 1.0, lambdas=[1.0, -1.0])
    with pytest.raises(ValueError, match="'mae' is nan"):
        losses.combined("mae+mse", audio, text, target, 1.0, lambdas={"mae": float("nan")})
    off = losses.combined("mae+mse", audio, text, target, 1.0, lambdas=[0.0, 1.0])
    assert off.item() == pytest.approx(losses.combined("mse", audio, text, target, 1.0).item())
    with pytest.raises(ValueError, match="target"):
        losses.combined("wsce", audio, text, None, 1.0)


# ----------------------------------------------------------------------------- masking
def test_false_negative_mask():
    audio_ids = ["a.wav", "b.wav", "c.wav", "a.wav"]
    text_ids = ["dog", "dog", "cat", "bird"]
    mask = losses.false_negative_mask(audio_ids, text_ids)
    expected = torch.tensor(
        [
            [False, True, False, True],
            [True, False, False, False],
            [False, False, False, False],
            [True, False, False, False],
        ]
    )
    assert mask.dtype == torch.bool
    assert torch.equal(mask, expected)
    assert not losses.false_negative_mask(["x", "x"], ["t", "t"]).diagonal().any()
    with pytest.raises(ValueError, match="text_ids"):
        losses.false_negative_mask(["a", "b"], ["t"])


def test_masked_sce_equals_loss_without_duplicate(batch):
    """Pair 1 repeats the caption of pair 0 (with another audio).

    With the mask, pair 0's rows/columns must not see pair 1 in the denominator (and vice
    versa): each equals the loss of the batch with the other one removed.
    """
    audio, text, _ = batch
    text = text.clone()
    text[1] = text[0]
    ids_audio = [f"w{i}" for i in range(len(audio))]
    ids_text = ["t0", "t0"] + [f"t{i}" for i in range(2, len(audio))]
    mask = losses.false_negative_mask(ids_audio, ids_text)
    per_pair = losses._per_pair_contrastive(audio, text, 6.0, mask)

    keep_without_1 = [i for i in range(len(audio)) if i != 1]
    keep_without_0 = [i for i in range(len(audio)) if i != 0]
    ref_without_1 = _ref_per_pair(audio[keep_without_1], text[keep_without_1], 6.0)
    ref_without_0 = _ref_per_pair(audio[keep_without_0], text[keep_without_0], 6.0)
    assert per_pair[0].item() == pytest.approx(ref_without_1[0], rel=1e-10)
    assert per_pair[1].item() == pytest.approx(ref_without_0[0], rel=1e-10)
    # Other pairs: the reference with both entries excluded in their row/column.
    expected = _ref_per_pair(audio, text, 6.0, mask)
    assert per_pair.tolist() == pytest.approx(expected, rel=1e-10)
    # And the mask changes the loss (the duplicate is a strong false negative).
    unmasked = losses._per_pair_contrastive(audio, text, 6.0, None)
    assert per_pair[0].item() < unmasked[0].item()
    w = torch.rand(len(audio), dtype=torch.float64)
    assert losses.wsce(audio, text, w, 6.0, mask=mask).item() == pytest.approx(
        (w * torch.tensor(expected, dtype=torch.float64)).mean().item(), rel=1e-10
    )


def test_mask_on_diagonal_rejected(batch):
    audio, text, _ = batch
    mask = torch.eye(len(audio), dtype=torch.bool)
    with pytest.raises(ValueError, match="diagonal"):
        losses.sce(audio, text, 1.0, mask=mask)
    with pytest.raises(ValueError, match="bool"):
        losses.sce(audio, text, 1.0, mask=torch.zeros(len(audio), len(audio)))


# ----------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("name", ["sce", "wsce", "mae", "mse", "wsce+mse+mae"])
def test_gradients_flow(batch, name):
    audio, text, target = batch
    audio = audio.float().requires_grad_()
    text = text.float().requires_grad_()
    log_scale = torch.tensor(math.log(10.0), requires_grad=True)
    mask = losses.false_negative_mask(["a", "a"] + list("cdefg"), list("tuvwxyz"))
    loss = losses.combined(name, audio, text, target.float(), log_scale.exp(), mask=mask)
    loss.backward()
    for g in (audio.grad, text.grad):
        assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0
    if "sce" in name:
        assert log_scale.grad is not None and torch.isfinite(log_scale.grad)
        assert log_scale.grad.abs() > 0


def test_gradcheck_float64(batch):
    audio, text, target = batch
    audio = audio[:4].clone().requires_grad_()
    text = text[:4].clone().requires_grad_()
    mask = losses.false_negative_mask(["a", "b", "c", "d"], ["t", "t", "u", "v"])
    assert torch.autograd.gradcheck(
        lambda a, t: losses.combined("wsce+mse+mae", a, t, target[:4], 7.0, mask=mask),
        (audio, text),
    )


# ----------------------------------------------------------------------------- validation
def test_validation_errors(batch):
    audio, text, target = batch
    with pytest.raises(ValueError, match="text_emb"):
        losses.sce(audio, text[:3], 1.0)
    with pytest.raises(ValueError, match="audio_emb"):
        losses.mae(audio[0], text[0], target[:1])
    bad = target.clone()
    bad[2] = float("nan")
    with pytest.raises(ValueError, match="target.*NaN"):
        losses.mae(audio, text, bad)
    with pytest.raises(ValueError, match="target.*NaN"):
        losses.combined("wsce", audio, text, bad, 1.0)
    with pytest.raises(ValueError, match=r"target.*outside \[0, 1\]"):
        losses.mse(audio, text, target + 1.0)
    with pytest.raises(ValueError, match=r"target.*outside \[0, 1\]"):
        losses.combined("wsce+mae", audio, text, target - 1.0, 1.0)
    with pytest.raises(ValueError, match="target"):
        losses.mae(audio, text, target[:3])
    with pytest.raises(ValueError, match="weights"):
        losses.wsce(audio, text, -target, 1.0)
    with pytest.raises(ValueError, match="logit_scale"):
        losses.sce(audio, text, 0.0)
    with pytest.raises(ValueError, match="logit_scale"):
        losses.sce(audio, text, torch.ones(2))
    nan_audio = audio.clone()
    nan_audio[0, 0] = float("nan")
    with pytest.raises(ValueError, match="audio_emb"):
        losses.sce(nan_audio, text, 1.0)


# ----------------------------------------------------------------------------- ranking terms
#: Targets with ties: 0.2 twice (1 tied pair) and 0.5 three times (3 tied pairs), so 21 - 4 = 17
#: of the C(7, 2) = 21 pairs i < j are compared.
TIED = [0.2, 0.5, 0.5, 0.9, 0.2, 0.7, 0.5]


def _ref_margin(audio, text, target, m: float) -> tuple[float, int]:
    """The margin loss by explicit loops over i < j, and the number of untied pairs."""
    p, y = _ref_cos(audio, text), [float(v) for v in target]
    total, count = 0.0, 0
    for i in range(len(y)):
        for j in range(i + 1, len(y)):
            if y[i] == y[j]:
                continue
            sign = 1.0 if y[i] > y[j] else -1.0
            total += max(0.0, m - sign * (p[i] - p[j]))
            count += 1
    return (total / count if count else 0.0), count


def _ref_listnet(audio, text, target, tau: float) -> float:
    p, y = _ref_cos(audio, text), [float(v) for v in target]
    y_norm = sum(math.exp(v / tau) for v in y)
    top = max(v / tau for v in p)
    log_norm = top + math.log(sum(math.exp(v / tau - top) for v in p))
    pairs = zip(y, p, strict=True)
    return -sum(math.exp(yi / tau) / y_norm * (pi / tau - log_norm) for yi, pi in pairs)


def _angles(theta: list[float]):
    """Unit 2-D pairs with ``p_i = cos(theta_i)``: audio (cos, sin) of a leaf ``theta``, text
    (1, 0). ``dL/dp_i = -theta.grad_i / sin(theta_i)``."""
    th = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    audio = torch.stack([th.cos(), th.sin()], dim=1)
    text = torch.tensor([[1.0, 0.0]] * len(theta), dtype=torch.float64)
    return th, audio, text


def _grad_p(th) -> list[float]:
    return (-th.grad / th.detach().sin()).tolist()


@pytest.mark.parametrize("m", [0.05, 0.1, 0.5])
def test_margin_matches_reference_with_ties(batch, m):
    audio, text, _ = batch
    target = torch.tensor(TIED, dtype=torch.float64)
    expected, count = _ref_margin(audio, text, TIED, m)
    assert count == 17
    sign, valid = losses.ranking.ranked_pairs(target)
    assert int(valid.sum()) == 17 and not valid.tril().any()
    assert losses.margin(audio, text, target, margin=m).item() == pytest.approx(expected, rel=1e-12)
    # without ties every one of the 21 pairs counts
    y = torch.linspace(0, 1, len(audio), dtype=torch.float64)
    expected, count = _ref_margin(audio, text, y.tolist(), m)
    assert count == 21
    assert losses.margin(audio, text, y, m).item() == pytest.approx(expected, rel=1e-12)


def test_margin_denominator_is_the_untied_pairs(batch):
    """With a margin above any cosine gap (2), every untied pair is active: the loss is
    ``m - mean_{untied} sign * (p_i - p_j)``, so dividing by 21 instead of 17 would show."""
    audio, text, _ = batch
    p = _ref_cos(audio, text)
    terms = [
        (1.0 if TIED[i] > TIED[j] else -1.0) * (p[i] - p[j])
        for i in range(7)
        for j in range(i + 1, 7)
        if TIED[i] != TIED[j]
    ]
    got = losses.margin(audio, text, TIED, margin=2.5).item()
    assert got == pytest.approx(2.5 - sum(terms) / 17, rel=1e-12)
    assert got != pytest.approx((2.5 * 17 - sum(terms)) / 21, rel=1e-6)


@pytest.mark.parametrize("tau", [0.05, 0.1, 1.0])
def test_listnet_matches_reference(batch, tau):
    audio, text, target = batch
    expected = _ref_listnet(audio, text, target, tau)
    got = losses.listnet(audio, text, target, temperature=tau).item()
    assert got == pytest.approx(expected, rel=1e-12)
    tied = _ref_listnet(audio, text, TIED, tau)
    assert losses.listnet(audio, text, TIED, tau).item() == pytest.approx(tied, rel=1e-12)


def test_ranking_edge_cases(batch):
    audio, text, _ = batch
    a2, t2 = audio[:2], text[:2]
    p0, p1 = _ref_cos(a2, t2)
    # N = 2: one pair (or none)
    got = losses.margin(a2, t2, [0.8, 0.3], margin=0.2).item()
    assert got == pytest.approx(max(0.0, 0.2 - (p0 - p1)), rel=1e-12)
    got = losses.margin(a2, t2, [0.3, 0.8], margin=0.2).item()
    assert got == pytest.approx(max(0.0, 0.2 + (p0 - p1)), rel=1e-12)
    assert losses.margin(a2, t2, [0.4, 0.4]).item() == 0.0
    q = [math.exp(0.8 / 0.5), math.exp(0.3 / 0.5)]
    log_z = math.log(math.exp(p0 / 0.5) + math.exp(p1 / 0.5))
    expected = -(q[0] * (p0 / 0.5 - log_z) + q[1] * (p1 / 0.5 - log_z)) / sum(q)
    assert losses.listnet(a2, t2, [0.8, 0.3], 0.5).item() == pytest.approx(expected, rel=1e-12)
    # N = 1: nothing to rank
    assert losses.margin(audio[:1], text[:1], [0.5]).item() == 0.0
    assert losses.listnet(audio[:1], text[:1], [0.5]).item() == pytest.approx(0.0, abs=1e-15)
    # one target differs from the others: only its 6 pairs count
    one_off = [0.5] * 6 + [0.9]
    expected, count = _ref_margin(audio, text, one_off, 0.3)
    assert count == 6
    assert losses.margin(audio, text, one_off, 0.3).item() == pytest.approx(expected, rel=1e-12)


def test_margin_all_equal_targets_gives_zero_and_zero_gradient(batch):
    audio, text, _ = batch
    audio = audio.clone().requires_grad_()
    text = text.clone().requires_grad_()
    loss = losses.margin(audio, text, torch.full((7,), 0.6, dtype=torch.float64), margin=0.5)
    assert loss.item() == 0.0
    loss.backward()
    for g in (audio.grad, text.grad):
        assert torch.isfinite(g).all() and not g.any()
    # listnet with equal targets: softmax(y) is uniform, so it is -mean_i log softmax(p)_i
    p = torch.tensor(_ref_cos(audio.detach(), text.detach()), dtype=torch.float64)
    expected = -torch.log_softmax(p / 0.1, 0).mean().item()
    got = losses.listnet(audio, text, [0.6] * 7).item()
    assert got == pytest.approx(expected, rel=1e-12) and got >= math.log(7) - 1e-12


def test_margin_gradient_pushes_the_better_pair_up():
    # y_0 > y_1 but p_0 = 0.2 < p_1 = 0.5: the hinge is active, dL/dp = (-1, +1) / 1
    th, audio, text = _angles([math.acos(0.2), math.acos(0.5)])
    losses.margin(audio, text, [0.9, 0.1], margin=0.1).backward()
    assert _grad_p(th) == pytest.approx([-1.0, 1.0], rel=1e-10)
    # the order is right with room to spare (0.5 > margin): no gradient
    th, audio, text = _angles([math.acos(0.7), math.acos(0.2)])
    losses.margin(audio, text, [0.9, 0.1], margin=0.1).backward()
    assert _grad_p(th) == pytest.approx([0.0, 0.0], abs=1e-12)
    # three pairs, one tie (pairs 1 and 2): pair 0 (best) is pushed up by its two active
    # hinges, 1 and 2 down by one each, over K = 2
    th, audio, text = _angles([math.acos(0.1), math.acos(0.3), math.acos(0.5)])
    losses.margin(audio, text, [0.9, 0.4, 0.4], margin=0.1).backward()
    assert _grad_p(th) == pytest.approx([-1.0, 0.5, 0.5], rel=1e-10)
    # a gradient step raises p_0 and lowers p_1, p_2
    with torch.no_grad():
        after = (th - 1e-3 * th.grad).cos()
    assert after[0] > 0.1 and after[1] < 0.3 and after[2] < 0.5


def test_listnet_gradient_moves_p_towards_the_targets_order():
    tau, y = 0.2, [0.9, 0.5, 0.1]
    th, audio, text = _angles([math.acos(0.4)] * 3)  # all cosines equal
    losses.listnet(audio, text, y, temperature=tau).backward()
    q = torch.softmax(torch.tensor(y, dtype=torch.float64) / tau, 0)
    expected = ((1 / 3 - q) / tau).tolist()  # (softmax(p / tau) - softmax(y / tau)) / tau
    grad = _grad_p(th)
    assert grad == pytest.approx(expected, rel=1e-10)
    assert grad[0] < 0 < grad[2]  # descent raises the best-rated pair, lowers the worst


@pytest.mark.parametrize(
    ("name", "fn"),
    [
        ("margin", lambda a, t, y: losses.margin(a, t, y, margin=0.3)),
        ("listnet", lambda a, t, y: losses.listnet(a, t, y, temperature=0.2)),
        (
            "wsce+margin",
            lambda a, t, y: losses.combined(
                "wsce+margin", a, t, y, 7.0, term_kwargs={"margin": {"margin": 0.3}}
            ),
        ),
        ("mae+listnet", lambda a, t, y: losses.combined("mae+listnet", a, t, y, 7.0)),
    ],
)
def test_ranking_gradcheck_float64(batch, name, fn):
    audio, text, _ = batch
    audio = audio[:5].clone().requires_grad_()
    text = text[:5].clone().requires_grad_()
    target = torch.tensor([0.2, 0.8, 0.5, 0.2, 0.9], dtype=torch.float64)  # one tie
    assert torch.autograd.gradcheck(lambda a, t: fn(a, t, target), (audio, text)), name


def test_combined_with_ranking_terms(batch):
    audio, text, target = batch
    scale = 9.0
    wsce = losses.wsce(audio, text, target, scale).item()
    mae = losses.mae(audio, text, target).item()
    marg = {m: _ref_margin(audio, text, target, m)[0] for m in (0.1, 0.25)}
    lnet = {t: _ref_listnet(audio, text, target, t) for t in (0.1, 0.05)}

    def value(name, **kw):
        return losses.combined(name, audio, text, target, scale, **kw).item()

    assert value("margin") == pytest.approx(marg[0.1], rel=1e-12)
    assert value("wsce+margin") == pytest.approx(wsce + marg[0.1], rel=1e-12)
    assert value("wsce+listnet") == pytest.approx(wsce + lnet[0.1], rel=1e-12)
    assert value("mae+margin", lambdas=[2.0, 0.5]) == pytest.approx(
        2 * mae + 0.5 * marg[0.1], rel=1e-12
    )
    got = value(
        "wsce+margin+listnet",
        lambdas={"listnet": 0.3},
        term_kwargs={"MARGIN": {"margin": 0.25}, "listnet": {"temperature": 0.05}},
    )
    assert got == pytest.approx(wsce + marg[0.25] + 0.3 * lnet[0.05], rel=1e-12)
    total, terms = losses.combined(
        "mae+margin", audio, text, target, scale, term_kwargs={"margin": {"margin": 0.25}},
        return_terms=True,
    )  # fmt: skip
    assert terms == pytest.approx({"mae": mae, "margin": marg[0.25]}, rel=1e-12)
    assert total.item() == pytest.approx(mae + marg[0.25], rel=1e-12)


def test_term_kwargs_resolution():
    assert set(losses.TERMS) >= {"margin", "listnet"}
    assert losses.parse_loss_name("WSCE+Margin") == ("wsce", "margin")
    assert losses.resolve_term_kwargs(("wsce", "mae"), None) == {}
    assert losses.resolve_term_kwargs(("wsce", "listnet", "margin"), None) == {
        "listnet": {"temperature": 0.1},
        "margin": {"margin": 0.1},
    }
    given = {"margin": {"margin": 0.1}}
    assert losses.resolve_term_kwargs(("margin",), given) == losses.resolve_term_kwargs(
        ("margin",), None
    )
    assert losses.resolve_term_kwargs(("margin",), {"margin": {"margin": 1}}) == {
        "margin": {"margin": 1.0}
    }
    assert dict(losses.TERM_PARAMS["margin"]) == {"margin": 0.1}


def test_ranking_arguments_are_validated(batch):
    audio, text, target = batch
    for bad in (0.0, -0.1, math.nan, math.inf, True, "0.1", None):
        with pytest.raises(ValueError, match="margin: expected a finite number > 0"):
            losses.margin(audio, text, target, margin=bad)
        with pytest.raises(ValueError, match="temperature: expected a finite number > 0"):
            losses.listnet(audio, text, target, temperature=bad)
    with pytest.raises(ValueError, match=r"target.*outside \[0, 1\]"):
        losses.margin(audio, text, target + 1.0)
    with pytest.raises(ValueError, match="target.*shape"):
        losses.listnet(audio, text, target[:3])

    def combo(name, **kw):
        return losses.combined(name, audio, text, target, 1.0, **kw)

    with pytest.raises(ValueError, match=r"term_kwargs\['margin'\]\['margin'\]"):
        combo("wsce+margin", term_kwargs={"margin": {"margin": -1.0}})
    with pytest.raises(ValueError, match=r"term_kwargs\['listnet'\]\['temperature'\]"):
        combo("listnet", term_kwargs={"listnet": {"temperature": 0}})
    with pytest.raises(ValueError, match=r"term_kwargs: term\(s\) \['margin'\] are not in"):
        combo("wsce+mae", term_kwargs={"margin": {"margin": 0.2}})
    with pytest.raises(ValueError, match=r"term_kwargs: term\(s\) \['mae'\] have no hyper"):
        combo("wsce+mae", term_kwargs={"mae": {"margin": 0.2}})
    with pytest.raises(ValueError, match="unknown hyper-parameter.*'tau'.*valid: temperature"):
        combo("listnet", term_kwargs={"listnet": {"tau": 0.2}})
    with pytest.raises(ValueError, match=r"term_kwargs\['margin'\]: expected a mapping"):
        combo("margin", term_kwargs={"margin": 0.2})
    with pytest.raises(ValueError, match="term_kwargs: expected a mapping"):
        combo("margin", term_kwargs=[("margin", 0.2)])
    with pytest.raises(ValueError, match="target"):
        losses.combined("margin", audio, text, None, 1.0)
