"""`report.html`: one self-contained page per run (the plot is an embedded PNG, the style
inline, no scripts), built only from the files in the run folder, so it opens offline and
`chatclone report` can rebuild it at any time."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path, PurePosixPath, PureWindowsPath

from chatclone import atomic, rundir
from chatclone.evaluation.report_fidelity import fidelity_section
from chatclone.evaluation.summary import fmt_value, quick_note, table
from chatclone.rundir import RunDir

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 10px;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.num{text-align:right;
font-variant-numeric:tabular-nums}img{max-width:100%}.muted{color:#777}
table.texts{width:100%;table-layout:fixed;font-size:.92em}table.texts td{overflow-wrap:anywhere;
white-space:pre-wrap}td .ctx{color:#555}summary{cursor:pointer;color:#555}"""
CONTEXT_CHARS = 160  # longer held-out contexts show their end, the whole behind a click


class Html(str):
    """A table cell already written in HTML (escaped where it holds text)."""


class Num(str):
    """A number already formatted, right-aligned in its cell."""


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
    if isinstance(v, Html):
        return f"<td>{v}</td>"
    if isinstance(v, Num):
        return f'<td class="num">{html.escape(v)}</td>'
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return f'<td class="num">{fmt_value(v)}</td>'
    return f"<td>{html.escape('-' if v is None else str(v))}</td>"


def html_table(
    header: list[str], rows: list[list], widths: list[int] | None = None, cls: str = ""
) -> str:
    """`widths`: each column's share of the page in percent (for tables of texts)."""
    cols = "".join(f'<col style="width:{w}%">' for w in widths) if widths else ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}>{cols and f'<colgroup>{cols}</colgroup>'}<tr>{head}</tr>{body}</table>"


def text_widths(first: int, n_more: int) -> list[int]:
    """The first column `first`% wide, the page's rest shared by `n_more` columns."""
    return [first] + [(100 - first) // n_more] * n_more


def local_name(value):
    """A local path as its last part: a report gets shared, home folders and user names stay
    out of it. Anything else (hub ids such as org/model, 'sample', numbers) as it is."""
    if isinstance(value, str):
        for pure in (PurePosixPath, PureWindowsPath):
            path = pure(value)
            if path.is_absolute() or value.startswith("~"):
                return path.name or value
    return value


def setting(value):
    """A configuration value for the table: numbers in the shortest exact form (2e-4 reads
    0.0002), lists comma-separated, paths as their last part."""
    if isinstance(value, float):
        return Num(f"{value:g}")
    if isinstance(value, list):
        return ", ".join(str(local_name(v)) for v in value) or "-"
    return local_name(value)


def context_cell(text: str) -> Html:
    """A held-out context: whole if short, else its end with the whole behind a click."""
    text = text.strip()
    if len(text) <= CONTEXT_CHARS:
        return Html(f'<span class="ctx">{html.escape(text)}</span>')
    tail = text[-CONTEXT_CHARS:]
    tail = tail[tail.find(" ") + 1 :] if " " in tail else tail
    return Html(
        f"<details><summary>\u2026{html.escape(tail)}</summary>"
        f'<span class="ctx">{html.escape(text)}</span></details>'
    )


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
    if sel.get("min_words"):
        rows.insert(
            3,
            [
                f"persona turns under {sel['min_words']} words left out (--min-words)",
                sel.get("short_turns_removed", 0),
            ],
        )
    return html_table(["", "value"], rows)


def eval_section(result: dict | None) -> str:
    if not result:
        return '<p class="muted">Not evaluated yet: run <code>chatclone eval</code>.</p>'
    names = list(result["models"])
    scored = [m.get("perplexity_examples") for m in result["models"].values()]
    parts = [
        f"<p>{result['validation_conversations']} held-out conversations, "
        f"{result['contexts']} sampled contexts; the real replies average "
        f"{result['reference_mean_words']:.1f} words. Base model: "
        f"<code>{html.escape(str(local_name(result['base_model'])))}</code>."
        + (f" Perplexity on {scored[0]:,} held-out examples." if scored[0] else "")
        + "</p>",
    ]
    if quick_note(result):
        parts.append(f'<p class="muted">{html.escape(quick_note(result))}.</p>')
    parts.append(
        html_table(["metric", *names], [[label, *values] for label, values in table(result)])
    )
    parts.append(fidelity_section(result, html_table))
    probes = result["models"][names[0]]["probes"]
    if probes:
        parts.append(
            "<h2>Probe messages</h2>"
            + html_table(
                ["message", *names],
                [
                    [p["message"], *(result["models"][n]["probes"][i]["reply"] for n in names)]
                    for i, p in enumerate(probes)
                ],
                text_widths(24, len(names)),
                "texts",
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
                        context_cell(s["context"]),
                        s["reference"],
                        *(result["models"][n]["samples"][i]["reply"] for n in names),
                    ]
                    for i, s in enumerate(samples)
                ],
                text_widths(28, len(names) + 1),
                "texts",
            )
        )
    return "".join(parts)


def render(run: RunDir) -> str:
    from chatclone.training.log import read_metrics

    config = run.read_config(real=False).to_dict()  # as stored: stand-ins, not real names
    settings = [[k, setting(v)] for k, v in sorted(config.items())]
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
        f"<h2>Configuration</h2>{html_table(['option', 'value'], settings)}"
        "</body></html>\n"
    )


def write_report(run: RunDir) -> Path:
    """Write `<run>/report.html` from the run folder's files (atomically) and return its path."""
    return atomic.write_text(run / rundir.REPORT, render(run))
