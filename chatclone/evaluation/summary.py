"""What `eval` prints and the report shows: the table of metrics per model, the style-fidelity
lines and how numbers are written for people."""

from __future__ import annotations

ROWS = [
    ("persona perplexity (held out)", lambda m: m.get("persona_perplexity")),
    ("distinct-1", lambda m: m["metrics"].get("distinct_1")),
    ("distinct-2", lambda m: m["metrics"].get("distinct_2")),
    ("repetition rate", lambda m: m["metrics"].get("repetition")),
    ("self-talk rate", lambda m: m["metrics"].get("self_talk")),
    ("empty-reply rate", lambda m: m["metrics"].get("empty")),
    ("words per reply", lambda m: m["metrics"].get("mean_words")),
    ("length vs real replies", lambda m: m["metrics"].get("length_ratio")),
    ("verbatim completions (audit)", lambda m: m.get("audit", {}).get("verbatim_rate")),
]


def table(result: dict) -> list[tuple[str, list[float | None]]]:
    """(metric, value per model) rows, skipping metrics that no model has."""
    rows = []
    for label, get in ROWS:
        values = [get(m) for m in result["models"].values()]
        if any(v is not None for v in values):
            rows.append((label, values))
    return rows


def fmt_value(v: float | None) -> str:
    """A number for people: 3 decimals in the usual range, thousands grouped from 100 on,
    significant digits below 0.01 (a learning rate of 2e-4 reads 0.0002, not 0.000)."""
    if v is None:
        return "-"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if v != v:  # NaN
        return "nan"
    if abs(v) >= 100:
        return f"{v:,.0f}" if abs(v) < 1e15 else f"{v:.3g}"
    return f"{v:.3f}" if v == 0 or abs(v) >= 0.01 else f"{v:.3g}"


def quick_note(result: dict) -> str:
    """How to get the full evaluation, for a result of `--quick` ('' otherwise)."""
    if not result.get("quick"):
        return ""
    return (
        "Quick evaluation (what train runs at its end); for all contexts and probes and "
        f"perplexity on every held-out example: chatclone eval --run-name {result['run']}"
    )


def format_result(result: dict) -> str:
    names = list(result["models"])
    lines = [
        f"Run {result['run']}: {result['validation_conversations']} held-out conversations, "
        f"{result['contexts']} sampled contexts (real replies: "
        f"{result['reference_mean_words']:.1f} words on average)",
        f"{'':32}" + "".join(f"{n:>12}" for n in names),
    ]
    lines += [
        f"{label:32}" + "".join(f"{fmt_value(v):>12}" for v in values)
        for label, values in table(result)
    ]
    lines += [fidelity_line(result), *habit_lines(result)] if result.get("fidelity") else []
    for i, probe in enumerate(result["models"][names[0]]["probes"]):
        lines.append(f"> {probe['message']}")
        lines += [f"  {n}: {result['models'][n]['probes'][i]['reply']}" for n in names]
    if quick_note(result):
        lines.append(quick_note(result))
    return "\n".join(lines)


def fidelity_line(result: dict) -> str:
    """The style-fidelity figures in one sentence."""
    f = result["fidelity"]
    pct = lambda v: "-" if v is None else f"{100 * v:.0f}%"  # noqa: E731
    if f["fidelity"] is None:
        head = (
            "Style fidelity: undefined (the base model already sounds like the persona, or no base)"
        )
    else:
        ci = (
            f" (95% interval {f['interval'][0]:.2f} to {f['interval'][1]:.2f})"
            if f["interval"]
            else ""
        )
        head = f"Style fidelity: {f['fidelity']:.2f}{ci}"
    auc = "-" if f["auc"] is None else f"{f['auc']:.2f}"
    return (
        f"{head} over {f['contexts']} held-out contexts; replies attributed to the persona: "
        f"real {pct(f['real'])}, trained {pct(f['clone'])}, base {pct(f['base'])}. "
        f"Real vs trained replies: AUC {auc} (0.5: cannot be told apart)"
    )


def habit_rows(result: dict) -> list[tuple[str, list[float | None]]]:
    """(habit, [real, then each model]) rows of the style profile."""
    from chatclone.evaluation.style import PROFILE

    real = result.get("real_style") or {}
    models = [m.get("style", {}) for m in result["models"].values()]
    return [
        (label, [real.get(k), *(m.get(k) for m in models)]) for k, (label, _) in PROFILE.items()
    ]


def habit_lines(result: dict) -> list[str]:
    names = ["real", *result["models"]]
    lines = [f"{'habits':32}" + "".join(f"{n:>12}" for n in names)]
    return lines + [
        f"{label:32}" + "".join(f"{fmt_value(v):>12}" for v in values)
        for label, values in habit_rows(result)
    ]
