"""Tiny random-weight diffusers pipelines (Wan, Wan image-to-video, LTX-Video) for tests and smoke checks.

They are built from configs in code — the same shapes diffusers' own fast tests use — with a
character-level tokenizer built from `tokenizers` (no hub access), seeded so the same call writes the
same weights, and saved with `save_pretrained` as a normal diffusers directory (`model_index.json`,
one folder per component). `DiffusersEngine.from_pretrained(DIR)` loads them like a real checkpoint.

Example:
    >>> write_tiny_model("/tmp/tiny-ltx", family="ltx")
    PosixPath('/tmp/tiny-ltx')
"""

from __future__ import annotations

import importlib
import json
import string
from pathlib import Path
from typing import Any

from edusdk._errors import BadInputError

TINY_FAMILIES = ("wan", "wan-i2v", "ltx")
TEXT_DIM = 32  # the tiny T5's d_model; the transformers' caption/text dims must match it


def _tokenizer() -> Any:
    """A character-level T5-style tokenizer: every prompt maps to distinct ids, nothing is downloaded."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    transformers: Any = importlib.import_module("transformers")  # untyped calls: keep mypy out of them

    specials = ["<pad>", "</s>", "<unk>"]
    chars = sorted(set(string.printable) - set(string.whitespace))
    vocab = {tok: i for i, tok in enumerate(specials + chars)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(pattern="", behavior="isolated")]
    )
    core.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    specials_kw = {"pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>"}
    return transformers.PreTrainedTokenizerFast(tokenizer_object=core, model_max_length=512, **specials_kw)


def _text_encoder(vocab_size: int, *, umt5: bool) -> Any:
    tf: Any = importlib.import_module("transformers")

    if umt5:  # Wan's text encoder class
        return tf.UMT5EncoderModel(tf.UMT5Config(vocab_size=vocab_size, d_model=TEXT_DIM, d_kv=8, d_ff=37, num_layers=1,
                                           num_heads=4, relative_attention_num_buckets=8, pad_token_id=0,
                                           eos_token_id=1, decoder_start_token_id=0))  # fmt: skip
    config = tf.T5Config(
        vocab_size=vocab_size,
        d_model=TEXT_DIM,
        d_kv=8,
        d_ff=37,
        num_layers=1,
        num_heads=4,
        relative_attention_num_buckets=8,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    return tf.T5EncoderModel(config)


def build_tiny_pipeline(family: str, *, seed: int = 0) -> Any:
    """A tiny random-weight pipeline object of `family` ("wan", "wan-i2v" or "ltx"), in eval mode.

    Example:
        >>> pipe = build_tiny_pipeline("wan")
        >>> type(pipe).__name__
        'WanPipeline'
    """
    if family not in TINY_FAMILIES:
        raise BadInputError(f"unknown tiny-model family {family!r}; choose one of: {', '.join(TINY_FAMILIES)}")
    import torch

    d: Any = importlib.import_module("diffusers")

    torch.manual_seed(seed)
    tokenizer = _tokenizer()
    text_encoder = _text_encoder(len(tokenizer), umt5=family.startswith("wan"))
    pipe: Any
    if family in ("wan", "wan-i2v"):
        vae = d.AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                               temperal_downsample=[False, True, True])  # fmt: skip
        # image-to-video: 16 noise + 4 mask + 16 first/last-frame latent channels in
        in_channels = 36 if family == "wan-i2v" else 16
        transformer = d.WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                                            in_channels=in_channels, out_channels=16, text_dim=TEXT_DIM, freq_dim=256,
                                            ffn_dim=32, num_layers=2, cross_attn_norm=True,
                                            qk_norm="rms_norm_across_heads", rope_max_seq_len=32)  # fmt: skip
        scheduler = d.FlowMatchEulerDiscreteScheduler(shift=7.0)
        parts = dict(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer,
                     scheduler=scheduler)  # fmt: skip
        if family == "wan-i2v":
            pipe = d.WanImageToVideoPipeline(**parts, image_encoder=None, image_processor=None)
        else:
            pipe = d.WanPipeline(**parts)
    else:
        transformer = d.LTXVideoTransformer3DModel(in_channels=8, out_channels=8, patch_size=1, patch_size_t=1,
                                                 num_attention_heads=4, attention_head_dim=8, cross_attention_dim=32,
                                                 num_layers=1, caption_channels=TEXT_DIM)  # fmt: skip
        vae = d.AutoencoderKLLTXVideo(in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
                                    decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
                                    decoder_layers_per_block=(1, 1, 1, 1, 1),
                                    spatio_temporal_scaling=(True, True, False, False),
                                    decoder_spatio_temporal_scaling=(True, True, False, False),
                                    decoder_inject_noise=(False, False, False, False, False),
                                    upsample_residual=(False, False, False, False), upsample_factor=(1, 1, 1, 1),
                                    timestep_conditioning=False, patch_size=1, patch_size_t=1, encoder_causal=True,
                                    decoder_causal=False)  # fmt: skip
        pipe = d.LTXPipeline(scheduler=d.FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=text_encoder,
                           tokenizer=tokenizer, transformer=transformer)  # fmt: skip
    for component in pipe.components.values():
        if isinstance(component, torch.nn.Module):
            component.eval()
    return pipe


def write_tiny_model(directory: str | Path, *, family: str, seed: int = 0) -> Path:
    """Write a tiny random-weight diffusers pipeline of `family` to `directory`; return its path.

    The directory must be empty or absent (an existing model is never overwritten).

    Example:
        >>> write_tiny_model("/tmp/tiny-wan", family="wan")
        PosixPath('/tmp/tiny-wan')
    """
    target = Path(directory).expanduser().absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BadInputError(f"{target} exists and is not an empty directory", hint="pick a new directory")
    pipe = build_tiny_pipeline(family, seed=seed)
    target.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(str(target), safe_serialization=True)
    # tiny models are for smoke runs: few steps and short, small clips unless the caller says otherwise
    presets = {"engine": {"steps": 2, "max_frames": 17, "max_area": 64 * 64}}
    (target / "edusdk.json").write_text(json.dumps(presets, indent=2) + "\n", encoding="utf-8")
    return target
