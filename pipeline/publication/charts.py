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

from ..formats.numbers import scale
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


def _human_axis(ax: Any, largest: float, unit: str) -> str:
    """Axis ticks in thousands/millions/billions with separators, never an offset or ``1e18``;
    returns the label's unit words (``"millions of BTC"``)."""
    from matplotlib.ticker import FuncFormatter

    divisor, word = scale(largest)
    top = largest / divisor
    places = 0 if top >= 20 else 1 if top >= 2 else 2
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / divisor:,.{places}f}"))
    return f"{word} of {unit}" if word else unit


def liabilities_chart(history: Sequence[Mapping[str, Any]], decimals: Mapping[str, int]) -> str:
    """Small multiples: each asset's liabilities total (whole units) across every archived period."""
    plt = _pyplot()
    symbols = sorted({s for h in history for s in h["liabilities"]}, key=lambda s: s.encode())
    cols = min(4, max(len(symbols), 1))
    rows = max(1, -(-len(symbols) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.5 * cols + 0.6, 2.0 * rows + 0.6), squeeze=False)
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
        ax.set_title(f"{symbol} ({_human_axis(ax, max(ys, default=0.0), symbol)})", fontsize=8)
        ax.set_xticks(range(len(periods)), periods, rotation=45, fontsize=7)
        ax.set_ylim(bottom=0)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle("Liabilities per asset across all published periods")
    fig.tight_layout()
    return _svg(fig, "chart-liabilities", "Liabilities per asset across all published periods")


PALETTE = ("#1849a9", "#067647", "#6938ef", "#b54708", "#0e9384", "#c11574", "#475467", "#2e90fa")


def ratio_history_chart(history: Sequence[Mapping[str, Any]], current: str, flagged: set[str]) -> str:
    """Each asset's reserve ratio (declared) for every published month, the 100% line dashed, the
    current month shaded; assets under 100% this month drawn in red."""
    plt = _pyplot()
    periods = [h["period"] for h in history]
    symbols = sorted({s for h in history for s in (h.get("ratios") or {})}, key=lambda s: s.encode())
    fig, ax = plt.subplots(figsize=(7.0, 3.2))
    if current in periods:
        x = periods.index(current)
        ax.axvspan(x - 0.4, x + 0.4, color="#eff8ff", zorder=0)
    top = 100.0
    for n, symbol in enumerate(symbols):
        xs, ys = [], []
        for x, h in enumerate(history):
            value = (h.get("ratios") or {}).get(symbol)
            if value is not None:
                xs.append(x)
                ys.append(float(Decimal(value)))  # a plot coordinate only
        if not xs:
            continue
        top = max(top, *ys)
        red = symbol in flagged
        ax.plot(xs, ys, marker="o", linewidth=2.2 if red else 1.5, color=RED if red else PALETTE[n % len(PALETTE)],
                label=f"{symbol} (under 100%)" if red else symbol)
    ax.axhline(100.0, color=GREY, linestyle="--", linewidth=1)
    ax.set_xticks(range(len(periods)), periods, rotation=0 if len(periods) < 8 else 45, fontsize=8)
    ax.set_xlim(-0.5, max(len(periods) - 0.5, 0.5))
    ax.set_ylim(0, top * 1.1)
    ax.set_ylabel("reserves / liabilities (%)")
    if symbols:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("Reserve ratio per asset, month by month (current month shaded)")
    return _svg(fig, "chart-ratio-history", "Reserve ratio per asset, month by month")


def usd_history_chart(history: Sequence[Mapping[str, Any]], current: str) -> str:
    """Total reserves in US dollars for every published month that had prices; the current month dark."""
    plt = _pyplot()
    months = [(h["period"], float(Decimal(h["reserves_usd"]))) for h in history if h.get("reserves_usd")]
    fig, ax = plt.subplots(figsize=(7.0, 2.8))
    if months:
        xs = range(len(months))
        ax.bar(xs, [v for _, v in months], color=["#1849a9" if p == current else "#84adff" for p, _ in months])
        ax.set_xticks(list(xs), [p for p, _ in months], fontsize=8)
        ax.set_ylabel(_human_axis(ax, max(v for _, v in months), "US dollars"))
    else:
        ax.text(0.5, 0.5, "no month was published with prices", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("Total reserves in US dollars, month by month")
    return _svg(fig, "chart-usd-history", "Total reserves in US dollars, month by month")
