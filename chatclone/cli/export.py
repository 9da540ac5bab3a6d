"""`chatclone export`: a run as a Hugging Face folder, a GGUF file or an Ollama model."""

from __future__ import annotations

import argparse
from typing import Callable

from chatclone.exporting.export import ExportConfig


def cmd_export(ns: argparse.Namespace) -> int:
    from chatclone.exporting.export import export

    cfg = ExportConfig.from_namespace(ns)
    path = export(cfg)
    print(f"Wrote {path}")
    if cfg.to == "ollama":
        name = f"chatclone-{cfg.run_name}".lower()
        print(f"Load it with: ollama create {name} -f {path} && ollama run {name}")
    return 0


def register(command: Callable) -> None:
    ExportConfig.add_arguments(
        command(
            "export",
            cmd_export,
            "export a trained run to a Hugging Face folder, GGUF (llama.cpp, LM Studio) or Ollama",
        )
    )
