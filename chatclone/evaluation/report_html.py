"""`report.html`: one self-contained page per run (the plot is an embedded PNG, the style
inline, no scripts), built only from the files in the run folder, so it opens offline and
`chatclone report` can rebuild it at any time."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from chatclone import atomic, rundir
from chatclone.rundir import RunDir

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 10px;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.num{text-align:right;
font-variant-numeric:tabular-nums}img{max-width:100%}.muted{color:#777}"""


def loss_plot(records: list[dict]) -> str | None:
    """The train and validation loss curves as a base64 PNG (None without records)."""
    if not records:
        return None
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    ax.plot([r["step"] for r in records], [r["loss"] for r in records], label="train", alpha=0.8)
    val = [r for r in records if "val_loss" in r]
    if val:
        ax.plot([r["step"] for r in val], [r["val_loss"] for r in val], "o-", label="validation")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (nats per token)")
    ax.grid(alpha=0.3)
    ax.legend()
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _cell(v) -> str:
    if isinstance(v, float):
        return f'<td class="num">{v:.3f}</td>' if abs(v) < 100 else f'<td class="num">{v:,.0f}</td>'
    if isinstance(v, int) and not isinstance(v, bool):
        return f'<td class="num">{v:,}</td>'
    return f"<td>{html.escape('-' if v is None else str(v))}</td>"


def html_table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def dataset_section(data: dict | None) -> str:
    if not data:
        return '<p class="muted">No dataset.json in this run.</p>'
    sel, tok, split = data["selection"], data["tokens"], data.get("split") or {}
    val = data.get("validation_tokens") or {}
    persona = tok["persona_tokens"] + val.get("persona_tokens", 0)
    tokens = tok["tokens"] + val.get("tokens", 0)
    rows = [
        ["conversations (kept / read)", f"{sel['kept']:,} / {sel['conversations']:,}"],
        [
            "training / held-out conversations",
            f"{split.get('train', sel['kept']):,} / {split.get('validation', 0):,}",
        ],
        ["turns", sel["turns"]],
        ["tokens", tokens],
        ["persona share of tokens", f"{100 * persona / tokens:.1f}%" if tokens else "-"],
        ["training examples", tok["examples"]],
    ]
    return html_table(["", "value"], rows)


def eval_section(result: dict | None) -> str:
    if not result:
        return '<p class="muted">Not evaluated yet: run <code>chatclone eval</code>.</p>'
    from chatclone.evaluation.evaluate import table

    names = list(result["models"])
    parts = [
        f"<p>{result['validation_conversations']} held-out conversations, "
        f"{result['contexts']} sampled contexts; the real replies average "
        f"{result['reference_mean_words']:.1f} words. Base model: "
        f"<code>{html.escape(result['base_model'])}</code>.</p>",
        html_table(["metric", *names], [[label, *values] for label, values in table(result)]),
    ]
    probes = result["models"][names[0]]["probes"]
    parts.append(
        "<h2>Probe messages</h2>"
        + html_table(
            ["message", *names],
            [
                [p["message"], *(result["models"][n]["probes"][i]["reply"] for n in names)]
                for i, p in enumerate(probes)
            ],
        )
    )
    samples = result["models"][names[0]]["samples"]
    if samples:
        parts.append(
            "<h2>Held-out replies</h2>"
            + html_table(
                ["context", "real reply", *names],
                [
                    [
                        s["context"],
                        s["reference"],
                        *(result["models"][n]["samples"][i]["reply"] for n in names),
                    ]
                    for i, s in enumerate(samples)
                ],
            )
        )
    return "".join(parts)


def render(run: RunDir) -> str:
    from chatclone.training.log import read_metrics

    config = run.read_config().to_dict()
    records = read_metrics(run.path)
    png = loss_plot(records)
    best = run.read_json(rundir.BEST)
    name = html.escape(run.name)
    plot = (
        f'<img alt="loss curves" src="data:image/png;base64,{png}">'
        if png
        else '<p class="muted">No training steps logged.</p>'
    )
    best_line = (
        f"<p>Lowest validation loss {best['best_val_loss']:.3f} at step "
        f"{best['best_step']} of {best['last_step']}; the run folder holds the weights "
        f"of step {best['saved_step']}.</p>"
        if best
        else ""
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>chatclone run {name}"
        f"</title><style>{STYLE}</style></head><body><h1>chatclone run {name}</h1>"
        f"<h2>Loss</h2>{plot}{best_line}<h2>Evaluation</h2>"
        f"{eval_section(run.read_json(rundir.EVAL))}"
        f"<h2>Dataset</h2>{dataset_section(run.read_json(rundir.DATASET))}"
        f"<h2>Configuration</h2>{html_table(['option', 'value'], sorted(config.items()))}"
        "</body></html>\n"
    )


def write_report(run: RunDir) -> Path:
    """Write `<run>/report.html` from the run folder's files (atomically) and return its path."""
    return atomic.write_text(run / rundir.REPORT, render(run))
