"""Python steps of the example workflows: plain functions of plain values."""

from __future__ import annotations


def parse_table(text: str) -> list[dict[str, str]]:
    """The sql tool's text result (a header line, then rows, ' | ' between cells) as dicts."""
    lines = [line for line in text.strip().splitlines() if line and not line.startswith("(")]
    if not lines:
        return []
    header = [h.strip() for h in lines[0].split(" | ")]
    return [dict(zip(header, (c.strip() for c in line.split(" | ")))) for line in lines[1:]]


def comparison_table(rows: str, models: list[str], answers: list[dict]) -> str:
    """A Markdown table of the chosen models' figures, with the agent's answer beside them."""
    by_name = {r["name"]: r for r in parse_table(rows)}
    lines = ["| model | licence | open weights | context window | MMLU | $ in / out per 1M | agent said | agrees |",
             "|---|---|---|---|---|---|---|---|"]
    for model, answer in zip(models, answers):
        r = by_name.get(model)
        said = (answer or {}).get("answer", "").replace("\n", " ").replace("|", "/")[:120]
        if r is None:
            lines.append(f"| {model} | (not in the database) | | | | | {said} | n/a |")
            continue
        price = f"{r['input_per_1m_usd']} / {r['output_per_1m_usd']}" if r.get("input_per_1m_usd") not in (None, "NULL") else "n/a"
        verdict = agrees(said, r["context_window"])
        if (answer or {}).get("unsupported") and verdict == "yes":
            verdict = "**unsupported claims**"  # right figure, but the answer also said what no evidence holds
        lines.append(f"| {model} | {r['licence']} | {'yes' if r['open_weights'] == '1' else 'no'} | "
                     f"{r['context_window']} | {r['mmlu']} | {price} | {said} | {verdict} |")
    return "\n".join(lines)


def agrees(answer: str, window: str) -> str:
    """Whether the agent's answer states the database's context window (200000, 200,000 or 200K).
    With no figure in the database, an answer that states one anyway disagrees: it came from nowhere."""
    if not window or window == "NULL":
        return "**no** (the database has no figure)" if any(ch.isdigit() for ch in _without_names(answer)) else "n/a"
    tokens = int(float(window))
    forms = {str(tokens), f"{tokens:,}", f"{tokens // 1000}k", f"{tokens // 1024}k"}
    text = answer.lower().replace(" ", "")
    return "yes" if any(form.lower() in text for form in forms) else "**no**"


def restricted_open_models(table: str) -> list[dict[str, str]]:
    """Open-weight models whose licence is not OSI-approved."""
    return [{"model": r["model"], "licence": r["licence"]} for r in parse_table(table)
            if r.get("open_weights") == "1" and r.get("osi_approved") == "0"]


def _without_names(answer: str) -> str:
    """The answer without model names, whose digits are not figures ("Llama 3.2 11B")."""
    import re

    return re.sub(r"\b[A-Z][\w.-]*(?:\s+[\w.-]*\d[\w.-]*)+", " ", answer)
