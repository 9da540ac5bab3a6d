"""Write a trained Llama-architecture model and its byte-level BPE tokenizer as one GGUF file.

Uses the `gguf` package (llama.cpp's own writer): tensor names come from its name map, q/k
projections are permuted the way llama.cpp's converter does (transformers' GGUF loader undoes
it), and the tokenizer travels as `tokenizer.ggml.*` metadata with the speaker tags marked as
control tokens, so llama.cpp, Ollama and LM Studio keep each tag one token.
"""

from __future__ import annotations

import json
from pathlib import Path

from chatclone.errors import ChatcloneError

QUANTS = ("f16", "q8_0", "f32")
SUPPORTED = ("LlamaForCausalLM",)


def check_supported(config) -> None:
    arch = (getattr(config, "architectures", None) or [type(config).__name__])[0]
    if arch not in SUPPORTED or getattr(config, "model_type", "") != "llama":
        raise ChatcloneError(
            f"GGUF export supports Llama-architecture models ({', '.join(SUPPORTED)}, e.g. the "
            f"embedded SmolLM2), not {arch}; export with --to hf and convert that folder with "
            "llama.cpp's convert_hf_to_gguf.py"
        )
    if getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
        raise ChatcloneError(
            "GGUF export does not support Llama models with attention or MLP "
            "biases; export with --to hf instead"
        )
    rope = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
    if rope.get("rope_type", "default") != "default":
        raise ChatcloneError(
            f"GGUF export does not support rope scaling {rope.get('rope_type')!r}; "
            "export with --to hf instead"
        )


def _rope_theta(config) -> float:
    rope = getattr(config, "rope_parameters", None) or {}
    return float(rope.get("rope_theta") or getattr(config, "rope_theta", None) or 10000.0)


def _permute(w, n_head: int, n_head_kv: int):
    """llama.cpp stores q/k rows interleaved per rotary pair (convert_hf_to_gguf's `permute`)."""
    if n_head_kv != n_head:
        n_head = n_head_kv
    return (
        w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )


def _pre_tokenizer(tokenizer) -> str:
    """llama.cpp's name for how text is split before BPE (it cannot read tokenizer.json)."""
    pre = json.loads(tokenizer.backend_tokenizer.to_str()).get("pre_tokenizer") or {}
    parts = pre.get("pretokenizers", [pre])
    kinds = [p.get("type") for p in parts]
    if kinds == ["ByteLevel"]:
        return "gpt-2"
    if kinds == ["Digits", "ByteLevel"] and parts[0].get("individual_digits"):
        return "smollm"
    raise ChatcloneError(
        f"GGUF export needs a byte-level BPE tokenizer of the GPT-2 or SmolLM "
        f"kind; this one splits text with {kinds}. Export with --to hf instead"
    )


def _vocab(tokenizer, n_vocab: int) -> tuple[list[str], list[int]]:
    import gguf

    by_id = {i: t for t, i in tokenizer.get_vocab().items()}
    special = set(tokenizer.all_special_ids)
    added = set(tokenizer.added_tokens_decoder)
    tokens, types = [], []
    for i in range(n_vocab):
        if i not in by_id:  # embedding rows beyond the tokenizer (padded vocabularies)
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        else:
            tokens.append(by_id[i])
            types.append(
                gguf.TokenType.CONTROL
                if i in special
                else gguf.TokenType.USER_DEFINED
                if i in added
                else gguf.TokenType.NORMAL
            )
    return tokens, types


def _merges(tokenizer) -> list[str]:
    model = json.loads(tokenizer.backend_tokenizer.to_str())["model"]
    if model.get("type") != "BPE":
        raise ChatcloneError(
            f"GGUF export needs a BPE tokenizer, not {model.get('type')}; "
            "export with --to hf instead"
        )
    return [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]


def add_tokenizer(writer, tokenizer, n_vocab: int, chat_template: str) -> None:
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(_pre_tokenizer(tokenizer))
    tokens, types = _vocab(tokenizer, n_vocab)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(_merges(tokenizer))
    for name in ("bos", "eos", "pad"):
        token_id = getattr(tokenizer, f"{name}_token_id")
        if token_id is not None:
            getattr(writer, f"add_{name}_token_id")(token_id)
    # chatclone never trains with a BOS token: llama.cpp must not prepend one either.
    writer.add_add_bos_token(False)
    writer.add_add_eos_token(False)
    writer.add_chat_template(chat_template)


def _tensor(name: str, data, quant: str):
    """(array, raw_dtype) for one tensor; 1-D tensors (norms) stay F32 as llama.cpp does."""
    import gguf
    import numpy as np

    if quant == "f32" or data.ndim == 1:
        return data.astype(np.float32), None
    if (
        quant == "q8_0"
        and data.shape[-1] % gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.Q8_0][0] == 0
    ):
        return gguf.quants.quantize(
            data, gguf.GGMLQuantizationType.Q8_0
        ), gguf.GGMLQuantizationType.Q8_0
    return data.astype(np.float16), None


def write_gguf(model, tokenizer, path: Path, quant: str, chat_template: str, name: str) -> Path:
    """Write `model` + `tokenizer` to `path` as GGUF with weights in `quant` (f16, q8_0, f32)."""
    import gguf

    if quant not in QUANTS:
        raise ChatcloneError(f"unknown GGUF type {quant!r}; choose one of {', '.join(QUANTS)}")
    config = model.config
    check_supported(config)
    n_head, n_kv = config.num_attention_heads, config.num_key_value_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // n_head
    n_vocab = model.get_input_embeddings().num_embeddings
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(_rope_theta(config))
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(n_vocab)
    writer.add_file_type(
        {
            "f32": gguf.LlamaFileType.ALL_F32,
            "f16": gguf.LlamaFileType.MOSTLY_F16,
            "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
        }[quant]
    )
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    add_tokenizer(writer, tokenizer, n_vocab, chat_template)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    for hf_name, tensor in model.state_dict().items():
        if hf_name == "lm_head.weight" and config.tie_word_embeddings:
            continue  # tied: llama.cpp reuses token_embd, and no output.weight means "tied"
        target = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if target is None:
            raise ChatcloneError(
                f"GGUF export cannot place weight {hf_name!r}; export with --to hf"
            )
        data = tensor.detach().float().cpu().numpy()
        if hf_name.endswith("q_proj.weight"):
            data = _permute(data, n_head, n_head)
        elif hf_name.endswith("k_proj.weight"):
            data = _permute(data, n_head, n_kv)
        array, raw_dtype = _tensor(target, data, quant)
        writer.add_tensor(target, array, raw_dtype=raw_dtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
