"""Terminal rendering of "why this score": each feature's term of the margin as a sorted bar chart.

The function answers ``?explain=true`` with ``contributions`` (weight x value
per feature) and ``intercept``, which sum to the margin (lambda/explain.py). A linear
model's answer is that sum, so a chart of the terms, largest first, shows what
pushed a ride towards "heavy magic use" (right, green, "+") or away from it (left,
red, "-"), to the scale of the largest term in half cells. Only drawing lives here;
``--output json`` prints the numbers as data.
"""
from __future__ import annotations

import logging
import math

from wildrydes_cli.cli.console import Console

LOG = logging.getLogger(__name__)

BAR_WIDTH = 16          # characters on each side of the axis (fits 80 columns)
SHOWN_RIDES = 10        # a batch draws a chart for its first rides only


FULL = "█"
# The partial cell at a bar's outer end hugs the full cells inside it: a right half on the left side of
# the axis, a left half on the right side; a term too small for half a cell is an eighth at the axis.
HALF = {"-": "▐", "+": "▌"}
SLIVER = {"-": "▕", "+": "▏"}


def bar(value: float, largest: float, width: int = BAR_WIDTH) -> tuple[str, str]:
    """(left half, right half) of a two-sided bar: negative values grow left, positive right.

    Scaled to the largest term in half cells, so that -0.68 (a cell and more) and -0.0005 (a
    sliver) look different next to +10.87; the sign stands at the bar's tip, for a reader
    without colour. Each half is ``width`` characters: at most ``width - 1`` cells and the sign.
    """
    blank = " " * width
    if value == 0 or largest <= 0 or math.isnan(value):
        return blank, blank
    sign = "-" if value < 0 else "+"
    halves = min(2 * (width - 1), round(2 * (width - 1) * abs(value) / largest))
    full, half = divmod(halves, 2)
    if halves == 0:
        body = SLIVER[sign]
    elif sign == "-":
        body = HALF[sign] * half + FULL * full
    else:
        body = FULL * full + HALF[sign] * half
    if sign == "-":
        return (sign + body).rjust(width), blank
    return blank, (body + sign).ljust(width)


def sorted_terms(contributions: dict) -> list[tuple[str, float]]:
    """Features by the size of their term, largest first (ties keep the model's order)."""
    return sorted(contributions.items(), key=lambda item: -abs(item[1]))


def render_explanation(result: dict, console: Console, title: str | None = None) -> None:
    """One ride's explanation: a table of feature, value sent, term and bar, then the sum."""
    from rich.table import Table
    from rich.text import Text

    contributions = result.get("contributions")
    if not isinstance(contributions, dict):
        console.line("The endpoint sent no explanation: its function predates ?explain=true; "
                     "run `wildrydes deploy` to update it.")
        return
    terms = sorted_terms(contributions)
    largest = max((abs(v) for _, v in terms), default=0.0)
    sent = result.get("request") or {}
    table = Table(title=title or "why this score: weight x value per feature (margin = intercept + sum)",
                  show_lines=False)
    table.add_column("feature")
    table.add_column("value", justify="right")
    table.add_column("term", justify="right")
    table.add_column("", no_wrap=True, min_width=2 * BAR_WIDTH + 1)
    for name, value in terms:
        left, right = bar(value, largest)
        chart = Text(left, style="red")
        chart.append("│")
        chart.append(right, style="green")
        shown = sent.get(name, "-") if isinstance(sent, dict) else "-"
        table.add_row(name, str(shown), f"{value:+.4g}", chart)
    console._rich(console.out).print(table)
    intercept = result.get("intercept")
    if isinstance(intercept, (int, float)):
        margin = intercept + sum(value for _, value in terms)
        line = f"intercept {intercept:+.4g}  ->  margin {margin:+.4g}"
        if result.get("predicted_label") is not None and abs(margin) < 700:
            line += f"  ->  score 1/(1+e^-margin) = {1.0 / (1.0 + math.exp(-margin)):.4g}"
        console.line(line)


def render_batch_explanations(result: dict, console: Console) -> None:
    """The first SHOWN_RIDES rides of a batch, one chart each."""
    predictions = result.get("predictions") or []
    for number, prediction in enumerate(predictions[:SHOWN_RIDES], start=1):
        render_explanation({**prediction, "request": prediction}, console,
                           title=f"ride {number}: score {prediction.get('score')}")
    hidden = len(predictions) - SHOWN_RIDES
    if hidden > 0:
        console.line(f"... and {hidden} more explained rides (--output json carries them all)")
