"""The report's charts, drawn with matplotlib as inline SVG (no network, no files).

Amounts are exact integers everywhere else; here, and only here, they become
floating-point *plot coordinates* (a bar's length, a point's height). No figure
shown as text in a report comes from this module.

Each chart is drawn as the render version that asks for it drew it (``Style``): version 2's are 7 inches
wide with 7-9 pt text, unreadable once a phone shrinks them to its width; version 3 draws them 5 inches
wide (as wide as a phone shows them, so they are not shrunk much) with text of at least 10 pt, the
liabilities' small multiples two to a row, the line chart's legend under it, and a por-v3 month's ratio
axis says it is against the net liabilities.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any, Mapping, Sequence

from ..formats.numbers import scale
from ..reserves.ratios import AssetPosition

from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    """How one render version draws the charts."""

    width: float
    """Inches (1 inch = 72 SVG units)."""
    text: float
    """Points: ticks, labels, titles."""
    small: float
    """Points: bar labels, small multiples' ticks, the legend."""
    per_row: int
    """Small multiples per row."""
    legend_below: bool
    net_label: bool
    """A por-v3 month's ratio axis reads "reserves / net liabilities"."""


V2 = Style(7.0, 9, 7, 4, False, False)
V3 = Style(5.0, 10, 10, 2, True, True)
STYLES = {2: V2, 3: V3}


def ratio_label(style: Style, net: bool) -> str:
    return "reserves / net liabilities (%)" if net and style.net_label else "reserves / liabilities (%)"


RED = "#b42318"
GREEN = "#067647"
GREY = "#667085"


def plot_coordinate(value: int, decimals: int) -> float:
    """``value / 10**decimals`` as a plot coordinate: the one place an amount becomes a float.
    Nothing computed from it is shown as a figure or fed back into a sum."""
    return float(Decimal(value).scaleb(-decimals))


def _pyplot(style: Style = V2) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "por-report", "svg.fonttype": "path", "font.size": style.text,
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


def ratio_chart(positions: Sequence[AssetPosition], style: Style = V2, net: bool = False) -> str:
    """Horizontal bars: each asset's reserve ratio, with the 100% line; red when under 100%. ``net``: a por-v3
    month (the ratio is against the net liabilities)."""
    plt = _pyplot(style)
    shown = [p for p in positions if p.basis_points is not None]
    row = 0.32 if style is V2 else 0.38
    fig, ax = plt.subplots(figsize=(style.width, 0.9 + row * max(len(shown), 1)))
    if shown:
        values = [plot_coordinate(p.basis_points, 2) for p in shown]  # type: ignore[arg-type]
        ax.barh([p.symbol for p in shown], values, color=[RED if p.flagged else GREEN for p in shown])
        ax.invert_yaxis()
        for y, p in enumerate(shown):
            ax.text(values[y], y, f" {p.ratio}%", va="center", fontsize=8 if style is V2 else style.small)
        ax.set_xlim(0, max(max(values), 100.0) * (1.15 if style is V2 else 1.35))
    else:
        ax.text(0.5, 0.5, "no asset has liabilities", ha="center", va="center", transform=ax.transAxes)
    ax.axvline(100.0, color=GREY, linestyle="--", linewidth=1)
    ax.set_xlabel(ratio_label(style, net))
    ax.set_title("Reserve ratio per asset")
    return _svg(fig, "chart-ratios", "Reserve ratio per asset")


def _period_ticks(ax: Any, periods: Sequence[str], style: Style, most: int, current: str | None = None) -> None:
    """Render version 3: at most ``most`` period labels (every k-th, the last and ``current`` always), so that
    labels of 10 pt never overlap; the others keep their tick without a label."""
    step = max(1, -(-len(periods) // most))
    last = len(periods) - 1
    shown = [p if i % step == 0 and last - i >= step or i == last or p == current else ""
             for i, p in enumerate(periods)]
    ax.set_xticks(range(len(periods)), shown, fontsize=style.small, rotation=0 if len(periods) < 4 else 45,
                  ha="center" if len(periods) < 4 else "right")


def _human_axis(ax: Any, largest: float, unit: str) -> str:
    """Axis ticks in thousands/millions/billions with separators, never an offset or ``1e18``;
    returns the label's unit words (``"millions of BTC"``)."""
    from matplotlib.ticker import FuncFormatter

    divisor, word = scale(largest)
    top = largest / divisor
    places = 0 if top >= 20 else 1 if top >= 2 else 2
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / divisor:,.{places}f}"))
    return f"{word} of {unit}" if word else unit


def liabilities_chart(history: Sequence[Mapping[str, Any]], decimals: Mapping[str, int], style: Style = V2) -> str:
    """Small multiples: each asset's liabilities total (whole units) across every archived period."""
    plt = _pyplot(style)
    symbols = sorted({s for h in history for s in h["liabilities"]}, key=lambda s: s.encode())
    cols = min(style.per_row, max(len(symbols), 1))
    rows = max(1, -(-len(symbols) // cols))
    size = ((2.5 * cols + 0.6, 2.0 * rows + 0.6) if style is V2 else (style.width, 2.4 * rows + 0.6))
    fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False)
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
        ax.set_title(f"{symbol} ({_human_axis(ax, max(ys, default=0.0), symbol)})",
                     fontsize=8 if style is V2 else style.small)
        if style is V2:
            ax.set_xticks(range(len(periods)), periods, rotation=45, fontsize=7)
        else:
            _period_ticks(ax, periods, style, 4)
        ax.set_ylim(bottom=0)
        ax.tick_params(axis="y", labelsize=7 if style is V2 else style.small)
    fig.suptitle("Liabilities per asset across all published periods" if style is V2 else
                 "Liabilities per asset, every published period")
    fig.tight_layout()
    return _svg(fig, "chart-liabilities", "Liabilities per asset across all published periods")


PALETTE = ("#1849a9", "#067647", "#6938ef", "#b54708", "#0e9384", "#c11574", "#475467", "#2e90fa")


def ratio_history_chart(history: Sequence[Mapping[str, Any]], current: str, flagged: set[str], style: Style = V2,
                        net: bool = False) -> str:
    """Each asset's reserve ratio (declared) for every published month, the 100% line dashed, the
    current month shaded; assets under 100% this month drawn in red."""
    plt = _pyplot(style)
    periods = [h["period"] for h in history]
    symbols = sorted({s for h in history for s in (h.get("ratios") or {})}, key=lambda s: s.encode())
    fig, ax = plt.subplots(figsize=(7.0, 3.2) if style is V2 else (style.width, 3.4))
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
    if style is V2:
        ax.set_xticks(range(len(periods)), periods, rotation=0 if len(periods) < 8 else 45, fontsize=8)
    else:
        _period_ticks(ax, periods, style, 12, current)
    ax.set_xlim(-0.5, max(len(periods) - 0.5, 0.5))
    ax.set_ylim(0, top * 1.1)
    ax.set_ylabel(ratio_label(style, net))
    if symbols and not style.legend_below:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    elif symbols:
        ax.legend(fontsize=style.small, loc="upper center", bbox_to_anchor=(0.5, -0.18 if len(periods) < 4 else -0.3),
                  ncol=min(3, len(symbols)), frameon=False)
    ax.set_title("Reserve ratio per asset, month by month (current month shaded)" if style is V2 else
                 "Reserve ratio per asset, month by month\n(current month shaded)")
    return _svg(fig, "chart-ratio-history", "Reserve ratio per asset, month by month")


def usd_history_chart(history: Sequence[Mapping[str, Any]], current: str, style: Style = V2) -> str:
    """Total reserves in US dollars for every published month that had prices; the current month dark."""
    plt = _pyplot(style)
    months = [(h["period"], float(Decimal(h["reserves_usd"]))) for h in history if h.get("reserves_usd")]
    fig, ax = plt.subplots(figsize=(7.0, 2.8) if style is V2 else (style.width, 3.0))
    if months:
        xs = range(len(months))
        ax.bar(xs, [v for _, v in months], color=["#1849a9" if p == current else "#84adff" for p, _ in months])
        if style is V2:
            ax.set_xticks(list(xs), [p for p, _ in months], fontsize=8)
        else:
            _period_ticks(ax, [p for p, _ in months], style, 12, current)
        ax.set_ylabel(_human_axis(ax, max(v for _, v in months), "US dollars"))
    else:
        ax.text(0.5, 0.5, "no month was published with prices", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("Total reserves in US dollars, month by month" if style is V2 else
                 "Total reserves in US dollars,\nmonth by month")
    return _svg(fig, "chart-usd-history", "Total reserves in US dollars, month by month")
