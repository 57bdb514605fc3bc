"""The report charts as PNG images, for the e-mailed copy (mail clients run no JavaScript).

Why matplotlib and not kaleido: kaleido renders plotly figures exactly, but it drives a Chrome
through choreographer, and the reports cron service on Railway has no browser (installing one
adds hundreds of MB and a process that can hang a mail job). matplotlib renders PNG in-process
with its own fonts, no browser, no network. The report's plotly figures stay the one source of
truth: this module reads their traces (bars, stacked or grouped, and lines) and draws the same
data, colours, titles and axes, so the interactive file and the e-mail never disagree.

Each chart is drawn on a `matplotlib.figure.Figure` with the Agg canvas, not pyplot: no global
state, safe in any process. PNG metadata carries no version or time, so the same figure gives
the same bytes.
"""
from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import plotly.graph_objects as go
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter
from PIL import Image

#: Shown at this width in the message (CSS pixels); drawn at twice that for sharp screens.
WIDTH_PX = 640
HEIGHT_PX = 300
SCALE = 2
DPI = 100
#: Colours in the PNG's palette: the series colours plus the anti-aliased edges of text.
PALETTE = 64
#: Value labels on the bars up to this many categories (beyond, they would overlap).
LABEL_BARS = 16
_TEXT = "#1d2733"
_MUTED = "#5b6b7b"
_GRID = "#e3e8ee"
_DEFAULT_COLOUR = "#1565c0"


class UnsupportedChart(ValueError):
    """A plotly trace type this module does not draw (the reports use bars and lines only)."""


def _label(value: object, longest: int = 22) -> str:
    """Category labels as people read them: an ISO day becomes "Mon" over "16 Nov"."""
    text = str(value)
    if _is_day(text):
        day = date.fromisoformat(text)
        return f"{day:%a}\n{day.day} {day:%b}"
    return text if len(text) <= longest else text[:longest - 1] + "…"


def _values(values: Any) -> Sequence[Any]:
    """A trace's x or y as a sequence; plotly may hold numbers as a base64 typed array."""
    if values is None:
        return ()
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return values


def _numbers(values: Any) -> list[float]:
    out = []
    for v in _values(values):
        try:
            f = float(v)
        except (TypeError, ValueError):
            f = math.nan
        out.append(f)
    return out


def _colour(trace: Any, kind: str) -> str:
    colour = trace.marker.color if kind == "bar" else (trace.line.color or trace.marker.color)
    return colour if isinstance(colour, str) else _DEFAULT_COLOUR


def _value_text(value: float, percent: bool) -> str:
    if math.isnan(value):
        return ""
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _style(ax: Axes, value_title: str, percent: bool, horizontal: bool = False) -> None:
    """Quiet axes: a light grid along the values, no frame, muted ticks."""
    values = ax.xaxis if horizontal else ax.yaxis
    (ax.set_xlabel if horizontal else ax.set_ylabel)(value_title, color=_MUTED, fontsize=9.5)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.spines["left" if horizontal else "bottom"].set_visible(True)
    ax.spines["left" if horizontal else "bottom"].set_color("#b8c4cf")
    ax.tick_params(colors=_MUTED, labelsize=9.5, length=0)
    ax.grid(axis="x" if horizontal else "y", color=_GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    # percent ticks on round steps (0, 2, 4 %, never 2.5 % printed as "2%")
    values.set_major_locator(MaxNLocator(nbins=5, integer=not percent, steps=[1, 2, 5, 10]))
    if percent:
        values.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    else:
        values.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}" if v.is_integer()
                                                 else f"{v:,.1f}"))


def _categories(traces: Sequence[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for trace in traces:
        for x in _values(trace.x):
            seen.setdefault(str(x), None)
    return list(seen)


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _ranking(figure: Figure, title: str, value_title: str, percent: bool, trace: Any,
             cats: list[str]) -> None:
    """One bar per named thing (resources, types, zones), largest first, as horizontal bars:
    long names stay level and whole instead of slanting under the axis."""
    rows = len(cats)
    figure.set_size_inches(WIDTH_PX / DPI, (90 + 26 * rows) / DPI)
    ax = figure.add_subplot()
    _style(ax, value_title, percent, horizontal=True)
    ys = _numbers(trace.y)
    container = ax.barh(range(rows), ys, 0.7, color=_colour(trace, "bar"))
    ax.bar_label(container, labels=[_value_text(v, percent) for v in ys], padding=3,
                 fontsize=9, color=_MUTED)
    ax.set_yticks(range(rows), [_label(c, 34) for c in cats])
    ax.tick_params(axis="y", labelcolor=_TEXT)
    ax.set_ylim(rows - 0.5, -0.5)  # the first (largest) on top
    high = max((v for v in ys if not math.isnan(v)), default=0.0)
    ax.set_xlim(0, high * 1.12 if high > 0 else 1)


def draw(fig: go.Figure) -> Figure:
    """One plotly figure of the reports (bar and scatter traces) as a matplotlib Figure."""
    layout = fig.layout
    title = (layout.title.text or "") if layout.title else ""
    y_title = (layout.yaxis.title.text or "") if layout.yaxis.title else ""
    percent = str(layout.yaxis.tickformat or "").endswith("%")
    traces = list(fig.data)
    for trace in traces:
        if trace.type not in ("bar", "scatter"):
            raise UnsupportedChart(f"cannot draw a {trace.type!r} trace as an image")
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(title, x=0.01, ha="left", fontsize=13, color=_TEXT, fontweight="bold")
    cats = _categories(traces)
    if not cats or not any(any(not math.isnan(v) for v in _numbers(t.y)) for t in traces):
        ax = figure.add_subplot()
        _style(ax, y_title, percent)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.text(0.5, 0.5, "Nothing to show for this period", ha="center", va="center",
                color=_MUTED, fontsize=11, transform=ax.transAxes)
        return figure
    if len(traces) == 1 and traces[0].type == "bar" and not all(_is_day(c) for c in cats):
        _ranking(figure, title, y_title, percent, traces[0], cats)
        return figure
    ax = figure.add_subplot()
    _style(ax, y_title, percent)
    pos = {c: i for i, c in enumerate(cats)}
    bars = [t for t in traces if t.type == "bar"]
    stacked = layout.barmode == "stack"
    width = 0.8 if stacked or len(bars) <= 1 else 0.8 / len(bars)
    bottoms = [0.0] * len(cats)
    label_bars = len(cats) <= LABEL_BARS
    for n, trace in enumerate(traces):
        xs = [pos[str(x)] for x in _values(trace.x)]
        ys = _numbers(trace.y)
        name = trace.name or ""
        if trace.type == "bar":
            if stacked:
                base = [bottoms[x] for x in xs]
                ax.bar(xs, [0 if math.isnan(y) else y for y in ys], width, bottom=base,
                       color=_colour(trace, "bar"), label=name)
                for x, y in zip(xs, ys, strict=True):
                    bottoms[x] += 0 if math.isnan(y) else y
            else:
                offset = 0 if len(bars) <= 1 else (bars.index(trace) - (len(bars) - 1) / 2) * width
                container = ax.bar([x + offset for x in xs], ys, width,
                                   color=_colour(trace, "bar"), label=name)
                if label_bars:
                    ax.bar_label(container, labels=[_value_text(y, percent) for y in ys],
                                 padding=2, fontsize=8.5, color=_MUTED)
        else:
            mode = trace.mode or "lines+markers"
            ax.plot(xs, ys, color=_colour(trace, "line"), label=name, linewidth=2,
                    marker="o" if "markers" in mode else None, markersize=4,
                    linestyle="-" if "lines" in mode else "none", zorder=3 + n)
    if stacked and bars and label_bars:
        for x, total in enumerate(bottoms):
            ax.annotate(_value_text(total, percent), (x, total), xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontsize=8.5,
                        color=_MUTED)
    ax.set_xticks(range(len(cats)), [_label(c) for c in cats])
    ax.set_xlim(-0.6, len(cats) - 0.4)
    if any(len(line) > 10 for c in cats for line in _label(c).split("\n")) or len(cats) > 10:
        ax.tick_params(axis="x", labelrotation=30)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
    low, high = ax.get_ylim()
    ax.set_ylim(min(low, 0), high * 1.08 if high > 0 else 1)  # room for the value labels
    if len(traces) > 1:  # one row above the plot: the whole width stays for the data
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=len(traces), frameon=False,
                  fontsize=9.5, labelcolor=_TEXT, handlelength=1.2, borderaxespad=0.2)
    return figure


def png(fig: go.Figure) -> bytes:
    """The chart as PNG bytes, WIDTH_PX x HEIGHT_PX at SCALE.

    Reduced to a palette of PALETTE colours (flat charts need few; the file is about a third
    of the full-colour one, which keeps nine charts well inside a mail size budget), with no
    metadata: the same data gives the same bytes.
    """
    figure = draw(fig)
    figure.set_dpi(DPI * SCALE)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
    flat = image.convert("RGB").quantize(PALETTE, method=Image.Quantize.MEDIANCUT,
                                          dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    flat.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def title_of(fig: go.Figure) -> str:
    """The chart's title, for the image's alt text (what a client that hides images shows)."""
    return str((fig.layout.title.text or "Chart") if fig.layout.title else "Chart")
