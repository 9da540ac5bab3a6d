"""`chatclone export`: a trained run as a merged Hugging Face folder, a GGUF file, or an Ollama model.

Every target carries the speaker format: the HF folder's tokenizer and the GGUF file get a chat
template that renders `<speaker1>`/`<speaker2>` turns exactly like `SpeakerFormat`, and the
Ollama `Modelfile` renders the same turns and stops at either tag or EOS, so exported models
end their turn where `chatclone chat` does. No torch at import time: the CLI imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chatclone.args import opt
from chatclone.config import GenerateConfig, RunConfig
from chatclone.dialogue import FORMAT, OTHER, PERSONA, SpeakerFormat, Turn
from chatclone.errors import ChatcloneError
from chatclone.gguf_writer import QUANTS

TARGETS = ("hf", "gguf", "ollama")


@dataclass
class ExportConfig(RunConfig):
    to: str = opt("gguf", "hf: merged save_pretrained folder; gguf: one GGUF file for llama.cpp "
                  "and LM Studio; ollama: GGUF plus a Modelfile", choices=list(TARGETS))
    output: str | None = opt(None, "folder to write into (default: export-TARGET inside the run)",
                             metavar="DIR", aliases=["-o"])
    quant: str = opt("f16", "GGUF weight type: f16 (faithful), q8_0 (half the size), f32",
                     choices=list(QUANTS))

    @property
    def out_dir(self) -> Path:
        out = Path(self.output) if self.output else self.run_dir / f"export-{self.to}"
        if out.exists() and not out.is_dir():
            raise ChatcloneError(f"-o {out} is a file; give a folder to export into")
        return out


def chat_template(fmt: SpeakerFormat = FORMAT) -> str:
    """Jinja chat template (transformers, llama.cpp, LM Studio): assistant = persona, user = other
    side; the generation prompt is the persona's tag, as in `SpeakerFormat.prompt`."""
    def line(speaker: int) -> str:
        head, tail = fmt.body(Turn(speaker, "\0")).split("\0")
        return fmt.tag(speaker) + head + "' + message['content'] + '" + tail.replace("\n", "\\n")

    return (
        "{%- for message in messages -%}"
        "{%- if message['role'] == 'assistant' -%}{{ '" + line(PERSONA) + "' }}"
        "{%- elif message['role'] == 'user' -%}{{ '" + line(OTHER) + "' }}"
        "{%- endif -%}{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{ '" + fmt.persona_tag + "' }}{%- endif -%}"
    )


def ollama_template(fmt: SpeakerFormat = FORMAT) -> str:
    """Go template for Ollama's TEMPLATE, rendering `.Messages` like `SpeakerFormat.prompt`."""
    persona = fmt.tag(PERSONA) + fmt.body(Turn(PERSONA, "{{ .Content }}"))
    other = fmt.tag(OTHER) + fmt.body(Turn(OTHER, "{{ .Content }}"))
    return ('{{ range .Messages }}{{ if eq .Role "assistant" }}' + persona
            + '{{ else if eq .Role "user" }}' + other + "{{ end }}{{ end }}" + fmt.persona_tag)


def modelfile(gguf_name: str, eos: str | None, context: int,
              gen: GenerateConfig = GenerateConfig(), fmt: SpeakerFormat = FORMAT) -> str:
    stops = list(fmt.tags) + ([eos] if eos else [])
    lines = [f"FROM ./{gguf_name}", f'TEMPLATE """{ollama_template(fmt)}"""']
    lines += [f'PARAMETER stop "{s}"' for s in stops]
    lines += [f"PARAMETER temperature {gen.temperature}", f"PARAMETER top_k {gen.top_k}",
              f"PARAMETER top_p {gen.top_p}", f"PARAMETER num_predict {gen.max_new_tokens}",
              f"PARAMETER num_ctx {context}"]
    return "\n".join(lines) + "\n"


def load_run(run_dir: Path):
    """Model and tokenizer of a finished run; a LoRA run's adapter comes merged (peft)."""
    from chatclone.models import is_model_dir, load_trained

    if not is_model_dir(run_dir):
        raise ChatcloneError(
            f"run {run_dir.name!r} in {run_dir.parent} has no final model (no config.json or "
            f"adapter_config.json); finish it with: chatclone train --run-name {run_dir.name} "
            "--resume (and the same options)"
        )
    import torch

    return load_trained(run_dir, dtype=torch.float32)


def export_hf(model, tokenizer, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.chat_template = chat_template()
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def export_gguf(model, tokenizer, out: Path, quant: str, name: str) -> Path:
    from chatclone.gguf_writer import write_gguf

    out.mkdir(parents=True, exist_ok=True)
    return write_gguf(model, tokenizer, out / f"{name}-{quant}.gguf", quant, chat_template(), name)


def export_ollama(model, tokenizer, out: Path, quant: str, name: str) -> Path:
    path = export_gguf(model, tokenizer, out, quant, name)
    context = model.config.max_position_embeddings
    (out / "Modelfile").write_text(modelfile(path.name, tokenizer.eos_token, min(context, 4096)))
    return out / "Modelfile"


def export(cfg: ExportConfig) -> Path:
    """Write the export and return the main file or folder."""
    from chatclone.quiet import quiet_libraries

    quiet_libraries()
    if not cfg.run_dir.is_dir():
        raise ChatcloneError(f"no run named {cfg.run_name!r} in {cfg.runs_dir}; train one with: "
                             f"chatclone train --data EXPORT --run-name {cfg.run_name}")
    model, tokenizer = load_run(cfg.run_dir)
    model.eval()
    name = f"chatclone-{cfg.run_name}".lower()
    if cfg.to == "hf":
        return export_hf(model, tokenizer, cfg.out_dir)
    if cfg.to == "gguf":
        return export_gguf(model, tokenizer, cfg.out_dir, cfg.quant, name)
    return export_ollama(model, tokenizer, cfg.out_dir, cfg.quant, name)


def cmd_export(ns) -> int:
    from chatclone.args import from_namespace

    cfg = from_namespace(ExportConfig, ns)
    path = export(cfg)
    print(f"Wrote {path}")
    if cfg.to == "ollama":
        name = f"chatclone-{cfg.run_name}".lower()
        print(f"Load it with: ollama create {name} -f {path} && ollama run {name}")
    return 0


def register(command) -> None:
    from chatclone.args import add_arguments

    add_arguments(command("export", cmd_export, "export a trained run to a Hugging Face folder, "
                          "GGUF (llama.cpp, LM Studio) or Ollama"), ExportConfig)
