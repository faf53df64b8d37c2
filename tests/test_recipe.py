"""humanclap.train.Recipe: finetune's training arguments as one object."""

from __future__ import annotations

import dataclasses

import pytest

pytest.importorskip("torch")

from humanclap import train  # noqa: E402
from humanclap.train import Recipe  # noqa: E402


def test_defaults_are_finetunes_documented_ones() -> None:
    recipe = Recipe()
    assert (recipe.loss, recipe.lr, recipe.num_epochs, recipe.batch_size) == (
        "wsce+mae",
        1e-4,
        10,
        32,
    )
    assert (recipe.patience, recipe.precision, recipe.clip_grad_norm) == (3, "auto", 1.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("num_epochs", -1),
        ("batch_size", 1),
        ("lr", float("nan")),
        ("weight_decay", -0.1),
        ("patience", 0),
        ("grad_accum", 0),
        ("warmup_epochs", -1),
        ("clip_grad_norm", 0),
        ("seed", 1.5),
        ("precision", "fp8"),
        ("loss", "wsce+nonsense"),
    ],
)
def test_a_bad_field_is_refused_naming_it(field: str, value) -> None:
    with pytest.raises(ValueError, match=field if field != "loss" else "nonsense"):
        Recipe(**{field: value})


def test_replace_refuses_an_unknown_field_naming_the_closest() -> None:
    with pytest.raises(TypeError, match="'num_epoch'.*'num_epochs'"):
        Recipe().replace(num_epoch=3)
    assert Recipe().replace(lr=3e-4) == dataclasses.replace(Recipe(), lr=3e-4)


def test_recipe_object_and_keywords_name_the_same_run(
    new_small_tiny, small_pairs, small_world
) -> None:
    """The object, the keywords, and an object with keyword overrides are one run: the same
    identity (the hash that names out_dir="auto"), so the second and third read the first back;
    another number of epochs is another run."""
    model = new_small_tiny()
    tr, va = small_pairs["train"].iloc[:64], small_pairs["validation"]
    common = {"progress": False, "audio_dir": small_world, "out_dir": "auto"}
    recipe = Recipe(lr=3e-4, seed=2, num_epochs=1, batch_size=16)
    as_object = train.finetune(model, tr, va, recipe, **common)
    as_keywords = train.finetune(model, tr, va, lr=3e-4, seed=2, num_epochs=1, batch_size=16,
                                 **common)  # fmt: skip
    overridden = train.finetune(model, tr, va, recipe.replace(lr=1e-2), lr=3e-4, **common)
    other = train.finetune(model, tr, va, recipe, num_epochs=0, **common)
    assert as_object.out_dir == as_keywords.out_dir == overridden.out_dir != other.out_dir
    assert as_keywords.seconds < as_object.seconds  # read back, not trained again
    assert as_object.history["val_srcc"].tolist() == overridden.history["val_srcc"].tolist()
    with pytest.raises(TypeError, match="recipe: expected a humanclap.train.Recipe"):
        train.finetune(model, tr, va, {"lr": 3e-4})
    with pytest.raises(TypeError, match="'learning_rate'"):
        train.finetune(model, tr, va, learning_rate=3e-4)
