"""The report's charts, drawn with matplotlib as inline SVG (no network, no files).

Amounts are exact integers everywhere else; here, and only here, they become
floating-point *plot coordinates* (a bar's length, a point's height). No figure
shown as text in a report comes from this module.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any, Mapping, Sequence

from ..reserves.ratios import AssetPosition

RED = "#b42318"
GREEN = "#067647"
GREY = "#667085"


def plot_coordinate(value: int, decimals: int) -> float:
    """``value / 10**decimals`` as a plot coordinate: the one place an amount becomes a float.
    Nothing computed from it is shown as a figure or fed back into a sum."""
    return float(Decimal(value).scaleb(-decimals))


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "por-report", "svg.fonttype": "path", "font.size": 9,
                         "axes.spines.top": False, "axes.spines.right": False})
    return plt


def _svg(fig: Any, chart_id: str, title: str) -> str:
    plt = _pyplot()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.S)
    # an id and an accessible name on the root element
    return svg.replace("<svg ", f'<svg id="{chart_id}" role="img" aria-label="{title}" ', 1)


def ratio_chart(positions: Sequence[AssetPosition]) -> str:
    """Horizontal bars: each asset's reserve ratio, with the 100% line; red when under 100%."""
    plt = _pyplot()
    shown = [p for p in positions if p.basis_points is not None]
    fig, ax = plt.subplots(figsize=(7.0, 0.9 + 0.32 * max(len(shown), 1)))
    if shown:
        values = [plot_coordinate(p.basis_points, 2) for p in shown]  # type: ignore[arg-type]
        ax.barh([p.symbol for p in shown], values, color=[RED if p.flagged else GREEN for p in shown])
        ax.invert_yaxis()
        for y, p in enumerate(shown):
            ax.text(values[y], y, f" {p.ratio}%", va="center", fontsize=8)
        ax.set_xlim(0, max(max(values), 100.0) * 1.15)
    else:
        ax.text(0.5, 0.5, "no asset has liabilities", ha="center", va="center", transform=ax.transAxes)
    ax.axvline(100.0, color=GREY, linestyle="--", linewidth=1)
    ax.set_xlabel("reserves / liabilities (%)")
    ax.set_title("Reserve ratio per asset")
    return _svg(fig, "chart-ratios", "Reserve ratio per asset")


def liabilities_chart(history: Sequence[Mapping[str, Any]], decimals: Mapping[str, int]) -> str:
    """Small multiples: each asset's liabilities total (whole units) across every archived period."""
    plt = _pyplot()
    symbols = sorted({s for h in history for s in h["liabilities"]}, key=lambda s: s.encode())
    cols = min(4, max(len(symbols), 1))
    rows = max(1, -(-len(symbols) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.4 * cols + 0.6, 1.9 * rows + 0.6), squeeze=False)
    periods = [h["period"] for h in history]
    for i, ax in enumerate(axes.flat):
        if i >= len(symbols):
            ax.set_visible(False)
            continue
        symbol = symbols[i]
        xs, ys = [], []
        for x, h in enumerate(history):
            if symbol in h["liabilities"]:
                xs.append(x)
                ys.append(plot_coordinate(int(h["liabilities"][symbol]), decimals.get(symbol, 0)))
        ax.plot(xs, ys, marker="o", color="#1849a9", linewidth=1.5)
        ax.set_title(symbol, fontsize=9)
        ax.set_xticks(range(len(periods)), periods, rotation=45, fontsize=7)
        ax.set_ylim(bottom=0)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle("Liabilities per asset across all published periods (whole units)")
    fig.tight_layout()
    return _svg(fig, "chart-liabilities", "Liabilities per asset across all published periods")
