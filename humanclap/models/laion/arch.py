"""LAION-CLAP architectures: the ``arch`` dict a :class:`~humanclap.models.laion.LaionClap` is
built from, checked (:func:`normalise_arch`) or read off a state dict (:func:`infer_arch`), and
roberta-base's exact configuration (:func:`roberta_base_config`) for the text branch."""

from __future__ import annotations

from typing import Any

from torch import Tensor

__all__ = [
    "AMODELS",
    "FUSION_TYPES",
    "normalise_arch",
    "infer_arch",
    "roberta_base_config",
    "strip_module_prefix",
]

#: HTS-AT audio encoders laion_clap builds (``amodel``).
AMODELS = ("HTSAT-tiny", "HTSAT-base", "HTSAT-large", "HTSAT-tiny-win-1536")
#: laion_clap's fusion variants (``fusion_type``).
FUSION_TYPES = ("aff_2d", "iaff_2d", "daf_2d", "aff_1d", "iaff_1d", "daf_1d", "channel_map")
_HTSAT_SIZES = {96: "tiny", 128: "base", 256: "large"}
_HTSAT_STAGE2_DEPTH = {"tiny": 6, "base": 12, "large": 12}
_ARCH_FIELDS = ("amodel", "tmodel", "fusion", "fusion_type", "tokenizer", "long_clips")


def _check_amodel(amodel: str) -> str:
    if amodel.upper().startswith("PANN"):
        raise ValueError(
            f"amodel={amodel!r}: PANN audio encoders are not supported (laion_clap's "
            "get_audio_embedding fails for them); use an HTS-AT model "
            f"({', '.join(AMODELS)})"
        )
    if amodel not in AMODELS:
        raise ValueError(f"amodel={amodel!r}: expected one of {list(AMODELS)}")
    return amodel


def normalise_arch(arch: dict[str, Any]) -> dict[str, Any]:
    """Check an ``arch`` dict and fill in its defaults.

    Parameters
    ----------
    arch : dict
        Any of ``amodel`` (default ``"HTSAT-tiny"``), ``tmodel`` (``"roberta"``), ``fusion``
        (False), ``fusion_type`` (``"aff_2d"`` when ``fusion``), ``tokenizer``
        (``"roberta-base"`` or ``"gpt2-bpe"``), ``long_clips`` (``"first"``).

    Returns
    -------
    dict
        All six fields; ``fusion_type`` is None without fusion.

    Raises
    ------
    ValueError
        An unknown field or value (PANN audio encoders and non-RoBERTa text encoders included).
    """
    unknown = sorted(set(arch) - set(_ARCH_FIELDS))
    if unknown:
        raise ValueError(f"laion arch: unknown field(s) {unknown}; valid: {sorted(_ARCH_FIELDS)}")
    amodel = _check_amodel(str(arch.get("amodel", "HTSAT-tiny")))
    tmodel = str(arch.get("tmodel", "roberta"))
    if tmodel != "roberta":
        raise ValueError(f"tmodel={tmodel!r}: only 'roberta' text encoders are supported")
    fusion = bool(arch.get("fusion", False))
    fusion_type = arch.get("fusion_type")
    if fusion:
        fusion_type = str(fusion_type or "aff_2d")
        if fusion_type not in FUSION_TYPES:
            raise ValueError(f"fusion_type={fusion_type!r}: expected one of {list(FUSION_TYPES)}")
    else:
        fusion_type = None
    tokenizer = str(arch.get("tokenizer", "roberta-base"))
    if tokenizer not in ("roberta-base", "gpt2-bpe"):
        raise ValueError(f"tokenizer={tokenizer!r}: expected 'roberta-base' or 'gpt2-bpe'")
    long_clips = str(arch.get("long_clips", "first"))
    if long_clips != "first":
        raise ValueError(f"long_clips={long_clips!r}: only 'first' (the first 10 s) is supported")
    return {
        "amodel": amodel,
        "tmodel": tmodel,
        "fusion": fusion,
        "fusion_type": fusion_type,
        "tokenizer": tokenizer,
        "long_clips": long_clips,
    }


def strip_module_prefix(state: dict[str, Any]) -> dict[str, Any]:
    """The keys of a state dict without the ``module.`` prefix of DataParallel training."""
    return {(k[len("module.") :] if k.startswith("module.") else k): v for k, v in state.items()}


def _htsat_amodel(sd: dict[str, Tensor], patch: Tensor) -> str:
    """``amodel`` from the patch embedding width, stage 3's depth and the STFT window."""
    width = int(patch.shape[0])
    if width not in _HTSAT_SIZES:
        raise ValueError(
            f"HTS-AT patch embedding width {width} matches no size (tiny 96, base 128, large 256)"
        )
    size = _HTSAT_SIZES[width]
    depth = len({k.split(".")[4] for k in sd if k.startswith("audio_branch.layers.2.blocks.")})
    if depth != _HTSAT_STAGE2_DEPTH[size]:
        raise ValueError(
            f"HTS-AT-{size} expects {_HTSAT_STAGE2_DEPTH[size]} blocks in stage 3, the state dict "
            f"has {depth}"
        )
    stft = sd.get("audio_branch.spectrogram_extractor.stft.conv_real.weight")
    window = int(stft.shape[-1]) if stft is not None else 1024
    amodel = f"HTSAT-{size}"
    if window == 1536 and size == "tiny":
        amodel = "HTSAT-tiny-win-1536"
    elif window != 1024:
        raise ValueError(f"HTS-AT-{size} with an STFT window of {window} has no laion config")
    return amodel


def _check_roberta(sd: dict[str, Tensor]) -> None:
    text_key = "text_branch.embeddings.word_embeddings.weight"
    if text_key not in sd or "text_branch.encoder.layer.11.output.dense.weight" not in sd:
        raise ValueError(
            "only LAION-CLAP checkpoints with a RoBERTa text branch are supported "
            f"(no {text_key!r} or 12 encoder layers)"
        )
    if tuple(sd[text_key].shape) != (50265, 768):
        raise ValueError(
            f"{text_key} has shape {tuple(sd[text_key].shape)}, roberta-base's is (50265, 768)"
        )


def _fusion_type(sd: dict[str, Tensor], patch: Tensor) -> str | None:
    """The fusion variant the fusion modules' keys reveal; None for a model without fusion."""
    fusion_keys = [k for k in sd if "fusion_model" in k or "mel_conv" in k]
    if int(patch.shape[1]) == 4:
        return "channel_map"
    if not fusion_keys:
        return None
    dim = "2d" if any(k.startswith("audio_branch.patch_embed.") for k in fusion_keys) else "1d"
    if any("local_att2" in k for k in fusion_keys):
        kind = "iaff"
    elif any("local_att" in k for k in fusion_keys):
        kind = "aff"
    else:
        kind = "daf"
    return f"{kind}_{dim}"


def infer_arch(state_dict: dict[str, Tensor]) -> dict[str, Any]:
    """Read the architecture (``amodel``, ``fusion``, ``fusion_type``) off a LAION state dict.

    Parameters
    ----------
    state_dict : dict
        Keys as in laion's ``CLAP`` (``audio_branch.*``, ``text_branch.*``, ...), a ``module.``
        prefix is allowed.

    Returns
    -------
    dict
        :func:`normalise_arch` of what was read (``tokenizer`` defaults to roberta-base's).

    Raises
    ------
    ValueError
        Not a LAION-CLAP state dict, a PANN audio encoder, or a text encoder other than RoBERTa.
    """
    sd = strip_module_prefix(state_dict)
    if not any(k.startswith("audio_branch.") for k in sd):
        raise ValueError("not a LAION-CLAP state dict: no 'audio_branch.*' keys")
    patch = sd.get("audio_branch.patch_embed.proj.weight")
    if patch is None:
        if any(k.startswith(("audio_branch.conv_block", "audio_branch.fc1")) for k in sd):
            raise ValueError(
                "this LAION-CLAP checkpoint has a PANN audio encoder, which is not supported "
                "(laion_clap's get_audio_embedding fails for PANN); use an HTS-AT checkpoint"
            )
        raise ValueError("unknown LAION-CLAP audio encoder: no 'audio_branch.patch_embed' weights")
    amodel = _htsat_amodel(sd, patch)
    _check_roberta(sd)
    fusion_type = _fusion_type(sd, patch)
    return normalise_arch(
        {"amodel": amodel, "fusion": fusion_type is not None, "fusion_type": fusion_type}
    )


def roberta_base_config() -> Any:
    """transformers ``RobertaConfig`` of ``roberta-base``, exactly (not ``RobertaConfig()``)."""
    from transformers import RobertaConfig  # lazy: transformers takes seconds to import

    return RobertaConfig(
        vocab_size=50265,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=514,
        type_vocab_size=1,
        initializer_range=0.02,
        layer_norm_eps=1e-5,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
