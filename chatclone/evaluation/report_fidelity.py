"""The report's style-fidelity section: the score, a plot of who the replies are attributed
to, and the habits of the real replies next to the models'."""

from __future__ import annotations

import base64
import html
import io

from chatclone.evaluation.summary import fidelity_line, habit_rows


def attribution_plot(result: dict) -> str:
    """Share of replies attributed to the persona: real, trained, base (a base64 PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = result["fidelity"]
    names = ["real replies", "trained", "base"]
    values = [f["real"], f["clone"], f["base"]]
    shown = [(n, v) for n, v in zip(names, values) if v is not None]
    fig, ax = plt.subplots(figsize=(6, 2.6), dpi=100)
    colors = {"real replies": "#4c72b0", "trained": "#55a868", "base": "#c44e52"}
    ax.barh([n for n, _ in shown], [100 * v for _, v in shown], color=[colors[n] for n, _ in shown])
    for i, (_, v) in enumerate(shown):
        ax.text(100 * v + 1, i, f"{100 * v:.0f}%", va="center")
    ax.set_xlim(0, 110)
    ax.invert_yaxis()
    ax.set_xlabel("replies attributed to the persona (%)")
    ax.grid(axis="x", alpha=0.3)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def fidelity_section(result: dict, table) -> str:
    """HTML for the fidelity score (empty when the evaluation has none). `table` is the
    report's table writer (headers, rows) -> HTML."""
    if not result.get("fidelity"):
        return ""
    names = ["real", *result["models"]]
    png = attribution_plot(result)
    return (
        "<h2>Does it sound like its person?</h2>"
        f"<p>{html.escape(fidelity_line(result))}.</p>"
        '<p class="muted">A character n-gram classifier, fitted on the training split only '
        "(the persona's turns against the other side's), is asked who wrote each reply to the "
        "same held-out contexts. Fidelity = (trained - base) / (real - base): 0 sounds like the "
        "untrained model, 1 like the person.</p>"
        f'<img alt="attribution to the persona" src="data:image/png;base64,{png}">'
        "<h3>Habits</h3>"
        + table(["habit", *names], [[label, *values] for label, values in habit_rows(result)])
    )
