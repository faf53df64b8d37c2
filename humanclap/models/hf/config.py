"""transformers ``ClapConfig`` helpers and the ``ClapFeatureExtractor`` settings of an
:class:`~humanclap.models.hf.HfClap`: what its architecture is (:func:`clap_arch`), how its clips
become features (:func:`feature_extractor_settings`), and the configurations of random models
(:func:`random_config`, :func:`small_config`); whether a configuration has the architecture
of ``laion/clap-htsat-fused`` / ``-unfused`` (:func:`htsat_base_differences`)."""

from __future__ import annotations

import json
from typing import Any

from humanclap.models.transformers_compat import without_v4_defaults

__all__ = [
    "FUSED_FEATURE_EXTRACTOR",
    "LONG_CLIPS",
    "SETTINGS_FILE",
    "as_clap_config",
    "check_clap_config",
    "clap_arch",
    "default_feature_settings",
    "feature_extractor_settings",
    "htsat_base_differences",
    "make_feature_extractor",
    "primitive",
    "random_config",
    "small_config",
]

#: ``ClapFeatureExtractor`` arguments of ``laion/clap-htsat-fused``'s ``preprocessor_config.json``.
FUSED_FEATURE_EXTRACTOR: dict[str, Any] = {
    "feature_size": 64,
    "sampling_rate": 48_000,
    "hop_length": 480,
    "max_length_s": 10,
    "fft_window_size": 1024,
    "padding_value": 0.0,
    "return_attention_mask": False,
    "frequency_min": 50,
    "frequency_max": 14_000,
    "top_db": None,
    "truncation": "fusion",
    "padding": "repeatpad",
}
#: How long clips are cropped (recorded in ``config["arch"]``; see :mod:`humanclap.models.hf`).
LONG_CLIPS = "fusion: centre chunk of each third; rand_trunc: first window"
#: Name of the file :meth:`HfClap.save_pretrained` adds for humanclap's own settings.
SETTINGS_FILE = "humanclap.json"

#: The ``ClapConfig`` fields that fix the parameters' shapes (``""``: the top level).
_SHAPE_FIELDS: dict[str, tuple[str, ...]] = {
    "": ("projection_dim",),
    "audio_config": (
        "depths",
        "num_attention_heads",
        "patch_embeds_hidden_size",
        "hidden_size",
        "num_mel_bins",
        "spec_size",
        "patch_size",
        "patch_stride",
        "window_size",
        "mlp_ratio",
        "patch_embed_input_channels",
    ),
    "text_config": (
        "vocab_size",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "max_position_embeddings",
        "type_vocab_size",
    ),
}
_FE_KEYS = tuple(FUSED_FEATURE_EXTRACTOR)
_TRUNCATIONS = ("fusion", "rand_trunc")
_PADDINGS = ("repeatpad", "repeat", "pad")
_CONFIG_VOLATILE = frozenset(
    {
        "transformers_version",
        "_name_or_path",
        "architectures",
        "dtype",
        "torch_dtype",
        "output_hidden_states",
        "output_attentions",
        "return_dict",
        "_commit_hash",
        "_attn_implementation_autoset",
        "_attn_implementation",
        "use_cache",
    }
)


def primitive(obj: Any) -> Any:
    """JSON round trip: tuples -> lists, numpy scalars -> Python numbers; only primitives left."""
    return json.loads(json.dumps(obj, default=lambda x: x.item() if hasattr(x, "item") else str(x)))


def clap_arch(config: Any) -> dict[str, Any]:
    """``ClapConfig.to_dict()`` without keys that do not change the model (versions, names, and
    transformers 4's generic defaults: :func:`~humanclap.models.transformers_compat.without_v4_defaults`),
    so the same model gives the same dict under transformers 4 and 5."""

    def strip(d: dict[str, Any]) -> dict[str, Any]:
        return {
            k: strip(v) if isinstance(v, dict) and k.endswith("_config") else v
            for k, v in without_v4_defaults(d).items()
            if k not in _CONFIG_VOLATILE
        }

    return primitive(strip(config.to_dict()))


def feature_extractor_settings(feature_extractor: Any) -> dict[str, Any]:
    """The ``ClapFeatureExtractor`` constructor arguments that shape its output (primitives).

    Raises
    ------
    ValueError
        An unsupported truncation or padding mode.
    """
    settings = primitive({k: getattr(feature_extractor, k) for k in _FE_KEYS})
    if settings["truncation"] not in _TRUNCATIONS:
        raise ValueError(
            f"feature extractor: truncation {settings['truncation']!r} not supported "
            f"(expected one of {_TRUNCATIONS})"
        )
    if settings["padding"] not in _PADDINGS:
        raise ValueError(
            f"feature extractor: padding {settings['padding']!r} not supported "
            f"(expected one of {_PADDINGS})"
        )
    return settings


def make_feature_extractor(settings: dict[str, Any]) -> Any:
    """``ClapFeatureExtractor(**settings)``."""
    from transformers import ClapFeatureExtractor  # lazy: transformers takes seconds to import

    return ClapFeatureExtractor(**settings)


def default_feature_settings(fusion: bool) -> dict[str, Any]:
    """``laion/clap-htsat-fused``'s extractor settings; ``rand_trunc`` when ``fusion`` is False."""
    settings = dict(FUSED_FEATURE_EXTRACTOR)
    if not fusion:
        settings["truncation"] = "rand_trunc"
    return settings


def random_config(fusion: bool = True) -> Any:
    """``ClapConfig()`` with ``enable_fusion=fusion``: ``laion/clap-htsat-fused``'s architecture
    (HTS-AT tiny audio tower, roberta-base text tower, D = 512) when ``fusion`` is True."""
    from transformers import ClapConfig  # lazy: transformers takes seconds to import

    return ClapConfig(audio_config={"enable_fusion": bool(fusion)})


def small_config(fusion: bool = True, projection_dim: int = 64) -> Any:
    """A small ``ClapConfig`` for fast tests (about 2 M parameters, most of them the 50,265-row
    word embedding): text hidden size 32 with 2 layers; HTS-AT with 16 patch channels and one
    block per stage. Inputs are the same as the full model's (48 kHz, 64 mel bins, 10 s)."""
    from transformers import ClapConfig  # lazy: transformers takes seconds to import

    patch = 16
    depths = [1, 1, 1, 1]
    return ClapConfig(
        text_config={
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
        },
        audio_config={
            "patch_embeds_hidden_size": patch,
            "hidden_size": patch * 2 ** (len(depths) - 1),
            "depths": depths,
            "num_attention_heads": [1, 1, 2, 2],
            "enable_fusion": bool(fusion),
        },
        projection_dim=projection_dim,
    )


def htsat_base_differences(config: Any) -> list[str]:
    """How ``config``'s parameter shapes differ from ``laion/clap-htsat-fused``'s (fusion) or
    ``laion/clap-htsat-unfused``'s (no fusion) architecture, ``ClapConfig()``: one
    ``"<section>.<field>: <value> (base: <value>)"`` per field; [] when the shapes are the same.

    Parameters
    ----------
    config : ClapConfig or its dict
    """
    config = as_clap_config(config)
    base = random_config(bool(config.audio_config.enable_fusion))
    out = []
    for section, fields in _SHAPE_FIELDS.items():
        ours = getattr(config, section) if section else config
        theirs = getattr(base, section) if section else base
        for name in fields:
            value, expected = primitive(getattr(ours, name)), primitive(getattr(theirs, name))
            if value != expected:
                where = f"{section}.{name}" if section else name
                out.append(f"{where}: {value!r} (base: {expected!r})")
    return out


def check_clap_config(config: Any) -> None:
    """ValueError unless the audio tower's ``hidden_size`` is the HTS-AT output width."""
    audio = config.audio_config
    width = int(audio.patch_embeds_hidden_size * 2 ** (len(audio.depths) - 1))
    if audio.hidden_size != width:
        raise ValueError(
            f"config: audio_config.hidden_size ({audio.hidden_size}) must equal "
            f"patch_embeds_hidden_size * 2 ** (len(depths) - 1) = {width} (the HTS-AT output width)"
        )


def as_clap_config(config: Any) -> Any:
    """A ``ClapConfig``, or one made from its dict; TypeError for anything else."""
    from transformers import ClapConfig  # lazy: transformers takes seconds to import

    if isinstance(config, ClapConfig):
        return config
    if isinstance(config, dict):
        return ClapConfig.from_dict(dict(config))
    raise TypeError(f"config: expected a transformers ClapConfig or its dict, got {type(config)}")
