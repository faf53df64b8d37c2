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
