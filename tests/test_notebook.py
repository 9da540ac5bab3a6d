"""The quickstart notebook runs end to end (tiny model, tiny data), so it cannot rot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "quickstart.ipynb"


def outputs(cell) -> str:
    return "".join(
        o.get("text", "") for o in cell.get("outputs", []) if o["output_type"] == "stream"
    )


@pytest.mark.slow
def test_quickstart_notebook_runs_on_cpu_with_a_tiny_model(tmp_path, tiny_model, monkeypatch):
    from conftest import chatistics_records

    data = tmp_path / "export.json"
    data.write_text(json.dumps(chatistics_records()))
    settings = {
        "DATA": str(data),
        "MODEL": str(tiny_model),
        "RUNS_DIR": str(tmp_path / "runs"),
        "RUN_NAME": "nb",
        "MAX_STEPS": "2",
        "BATCH_SIZE": "2",
        "BLOCK_SIZE": "64",
        "REPORT": "0",
        "MESSAGES": "Hi|What did you do today?",
    }
    for key, value in settings.items():
        monkeypatch.setenv(f"CHATCLONE_NB_{key}", value)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    text = "\n".join(outputs(c) for c in nb.cells if c.cell_type == "code")
    assert "3 conversations, 36 messages" in text
    assert "you> Hi\nclone> " in text and "you> What did you do today?\nclone> " in text
    assert (tmp_path / "runs" / "nb" / "config.json").is_file()
    assert len((tmp_path / "runs" / "nb" / "metrics.jsonl").read_text().splitlines()) == 2
    modelfile = tmp_path / "runs" / "nb" / "export-ollama" / "Modelfile"
    assert 'PARAMETER stop "<speaker2>"' in modelfile.read_text()
    assert any(
        o["output_type"] == "display_data" and "image/png" in o["data"]
        for c in nb.cells
        for o in c.get("outputs", [])
    )  # the loss plot was drawn
