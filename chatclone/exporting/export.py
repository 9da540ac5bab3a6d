"""`chatclone export`: a trained run as a merged Hugging Face folder, a GGUF file, or an Ollama model.

Every target carries the speaker format: the HF folder's tokenizer and the GGUF file get a chat
template that renders `<speaker1>`/`<speaker2>` turns exactly like `SpeakerFormat` (in a named
run, a user message's `name` names its line), and the
Ollama `Modelfile` renders the same turns and stops where chat stops (either tag, the newline
that closes a turn, EOS), so exported models end their turn where `chatclone chat` does. No torch at import time: the CLI imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chatclone import atomic
from chatclone.config import RunOptions
from chatclone.errors import ChatcloneError
from chatclone.exporting.gguf import QUANTS
from chatclone.inference.length import DEFAULT_BUDGET, reply_budget
from chatclone.options import Group, Options, opt
from chatclone.prompt_style import ChatTemplateFormat, RunFormat, plain_ids, run_format
from chatclone.rundir import RunDir
from chatclone.sampling import SamplingOptions
from chatclone.speaker_format import DEFAULT_NAME, FORMAT, OTHER, PERSONA, Turn

TARGETS = ("hf", "gguf", "ollama")


@dataclass
class ExportOptions(Group):
    section = "export"
    to: str = opt(
        "gguf",
        "hf: merged save_pretrained folder; gguf: one GGUF file for llama.cpp "
        "and LM Studio; ollama: GGUF plus a Modelfile",
        choices=list(TARGETS),
    )
    output: str | None = opt(
        None,
        "folder to write into (default: export-TARGET inside the run)",
        metavar="DIR",
        aliases=["-o"],
    )
    quant: str = opt(
        "f16", "GGUF weight type: f16 (faithful), q8_0 (half the size), f32", choices=list(QUANTS)
    )
    force: bool = opt(False, "replace a model already in the output folder")


class ExportConfig(Options):
    """`chatclone export`."""

    groups = {"run": RunOptions, "export": ExportOptions}

    @property
    def out_dir(self) -> Path:
        out = Path(self.output) if self.output else RunDir.of(self).path / f"export-{self.to}"
        if out.exists() and not out.is_dir():
            raise ChatcloneError(f"-o {out} is a file; give a folder to export into")
        return out


def _jinja(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")


def native_chat_template(fmt: ChatTemplateFormat) -> str:
    """Jinja template of a `--prompt-style native` run: the run's system message (whatever
    system message a caller sends), then each message in the model's own wrappers."""
    (u0, u1), (a0, a1) = fmt.user, fmt.assistant
    return (
        "{{ '" + _jinja(fmt.system_block) + "' }}"
        "{%- for message in messages -%}"
        "{%- if message['role'] == 'assistant' -%}"
        "{{ '" + _jinja(a0) + "' + message['content'] + '" + _jinja(a1) + "' }}"
        "{%- elif message['role'] == 'user' -%}"
        "{{ '" + _jinja(u0) + "' + message['content'] + '" + _jinja(u1) + "' }}"
        "{%- endif -%}{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{ '" + _jinja(a0) + "' }}{%- endif -%}"
    )


def chat_template(fmt: RunFormat = FORMAT) -> str:
    """Jinja chat template (transformers, llama.cpp, LM Studio): assistant = persona, user = other
    side; the generation prompt is the persona's tag, as in `SpeakerFormat.prompt`."""
    if isinstance(fmt, ChatTemplateFormat):
        return native_chat_template(fmt)

    # A named run's user lines say who speaks: the message's `name`, else the default name.
    given = "message['name'] is defined and message['name']"
    name = f"' + (message['name'] if {given} else '{DEFAULT_NAME}') + '"

    def line(speaker: int) -> str:
        head, tail = fmt.body(Turn(speaker, "\0", "\1")).split("\0")
        content = "' + message['content'] + '"
        return fmt.tag(speaker) + head.replace("\1", name) + content + tail.replace("\n", "\\n")

    return (
        "{%- for message in messages -%}"
        "{%- if message['role'] == 'assistant' -%}{{ '" + line(PERSONA) + "' }}"
        "{%- elif message['role'] == 'user' -%}{{ '" + line(OTHER) + "' }}"
        "{%- endif -%}{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{ '" + fmt.persona_tag + "' }}{%- endif -%}"
    )


def ollama_template(fmt: RunFormat = FORMAT) -> str:
    """Go template for Ollama's TEMPLATE, rendering `.Messages` like the run's format does.
    Ollama's messages carry no name: in a named run every user line speaks as the default name."""
    if isinstance(fmt, ChatTemplateFormat):
        (u0, u1), (a0, a1) = fmt.user, fmt.assistant
        return (
            fmt.system_block
            + '{{ range .Messages }}{{ if eq .Role "assistant" }}'
            + f"{a0}{{{{ .Content }}}}{a1}"
            + '{{ else if eq .Role "user" }}'
            + f"{u0}{{{{ .Content }}}}{u1}"
            + "{{ end }}{{ end }}"
            + a0
        )
    persona = fmt.tag(PERSONA) + fmt.body(Turn(PERSONA, "{{ .Content }}"))
    other = fmt.tag(OTHER) + fmt.body(Turn(OTHER, "{{ .Content }}"))
    return (
        '{{ range .Messages }}{{ if eq .Role "assistant" }}'
        + persona
        + '{{ else if eq .Role "user" }}'
        + other
        + "{{ end }}{{ end }}"
        + fmt.persona_tag
    )


def modelfile(
    gguf_name: str,
    eos: str | None,
    context: int,
    gen: SamplingOptions = SamplingOptions(),
    fmt: RunFormat = FORMAT,
    budget: int = DEFAULT_BUDGET,
) -> str:
    """Ollama's Modelfile: the template, the same stops as chat (the speaker format's stop
    texts, the newline included, and EOS) and the same reply length (the run's budget, unless
    `gen` sets one)."""
    stops = list(dict.fromkeys([*fmt.stop_texts, *([eos] if eos else [])]))
    # Ollama's parser takes a quoted value literally (no escapes; a newline may sit inside the
    # quotes, as `ollama show --modelfile` writes it), and triple quotes around one with `"`.
    quoted = [f'"""{s}"""' if '"' in s else f'"{s}"' for s in stops]
    lines = [f"FROM ./{gguf_name}", f'TEMPLATE """{ollama_template(fmt)}"""']
    lines += [f"PARAMETER stop {s}" for s in quoted]
    lines += [
        f"PARAMETER temperature {gen.temperature}",
        f"PARAMETER top_k {gen.top_k}",
        f"PARAMETER top_p {gen.top_p}",
        f"PARAMETER num_predict {gen.max_new_tokens or budget}",
        f"PARAMETER num_ctx {context}",
    ]
    return "\n".join(lines) + "\n"


def load_run(run: RunDir):
    """Model and tokenizer of a finished run; a LoRA run's adapter comes merged (peft)."""
    import torch

    from chatclone.training.models import load_trained

    run.require(model=True)
    return load_trained(run.path, dtype=torch.float32)


def export_hf(model, tokenizer, out: Path, fmt: RunFormat = FORMAT) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.chat_template = chat_template(fmt)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def export_gguf(
    model, tokenizer, out: Path, quant: str, name: str, fmt: RunFormat = FORMAT
) -> Path:
    from chatclone.exporting.gguf import write_gguf

    out.mkdir(parents=True, exist_ok=True)
    template = chat_template(fmt)
    return write_gguf(model, tokenizer, out / f"{name}-{quant}.gguf", quant, template, name)


def export_ollama(
    model, tokenizer, out: Path, quant: str, name: str, budget: int, fmt: RunFormat = FORMAT
) -> Path:
    path = export_gguf(model, tokenizer, out, quant, name, fmt)
    context = model.config.max_position_embeddings
    text = modelfile(path.name, tokenizer.eos_token, min(context, 4096), fmt=fmt, budget=budget)
    atomic.write_text(out / "Modelfile", text)
    return out / "Modelfile"


def run_budget(run: RunDir, tokenizer) -> int:
    """The reply length chat uses for this run (from the persona's turns), for Ollama."""
    try:
        dialogues = run.read_dialogues()[0]
    except ChatcloneError:  # a run from before dialogues.jsonl: the fixed default
        return DEFAULT_BUDGET
    return reply_budget(dialogues, lambda text: plain_ids(tokenizer, text))


def targets(cfg: ExportConfig, name: str) -> list[Path]:
    """The files an export writes that would replace a model already there."""
    out = cfg.out_dir
    if cfg.to == "hf":
        return [out / "config.json", out / "adapter_config.json", out / "model.safetensors"]
    gguf = out / f"{name}-{cfg.quant}.gguf"
    return [gguf] if cfg.to == "gguf" else [gguf, out / "Modelfile"]


def check_free(cfg: ExportConfig, name: str) -> None:
    """Refuse to replace an earlier export silently (`--force` replaces it)."""
    taken = [p for p in targets(cfg, name) if p.exists()]
    if not cfg.force and taken:
        raise ChatcloneError(
            f"{taken[0]} already exists; pass --force to replace it, or export to another "
            "folder with -o DIR"
        )


def export(cfg: ExportConfig) -> Path:
    """Write the export and return the main file or folder."""
    from chatclone.quiet import quiet_libraries

    quiet_libraries()
    run = RunDir.of(cfg).require(model=True)
    name = f"chatclone-{cfg.run_name}".lower()
    check_free(cfg, name)  # before loading anything
    model, tokenizer = load_run(run)
    model.eval()
    config = run.read_config()
    fmt = run_format(tokenizer, config.prompt_style, config.system_prompt)
    if cfg.to == "hf":
        return export_hf(model, tokenizer, cfg.out_dir, fmt)
    if cfg.to == "gguf":
        return export_gguf(model, tokenizer, cfg.out_dir, cfg.quant, name, fmt)
    budget = run_budget(run, tokenizer)
    return export_ollama(model, tokenizer, cfg.out_dir, cfg.quant, name, budget, fmt)
