"""The calendar's figures as Vega-Lite specs (what a click or a drag means:
dashboard/calendar_picks.py).

Vega-Lite, not plotly: the browser loads about 0.8 MB of Vega for it instead of 4.7 MB of
plotly.js, which was most of the page's first-open time, and one Vega-Lite view takes a click
(point selection) and a drag (interval selection) at once, where Streamlit's plotly chart
needed a mouse-mode switch. Times are sent as epoch milliseconds of the site's wall time and
drawn on a UTC scale, so the browser's own time zone never shifts them.
"""
from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from dashboard import ui

NOW_COLOUR = "#d62828"
SLOT = "free slot"
#: Row labels are cut to this many pixels on a phone (and 180 on a wider screen): the
#: names took half a phone's width.
PHONE_LABEL_PX = 72
WIDE_LABEL_PX = 180
COLUMNS = ["Resource", "Start", "End", "Status", "What", "Who", "Priority", "Series", "Ref",
           "Id", "Kind"]
EPOCH = datetime(1970, 1, 1)


def naive(dt: datetime) -> datetime:
    """Site-local wall time without a zone: what the chart's date axis shows."""
    return ui.local(dt).replace(tzinfo=None)


def ms(t: datetime) -> int:
    """A naive site-local time as epoch milliseconds on the chart's UTC scale."""
    return int((t - EPOCH) / timedelta(milliseconds=1))


def entries(cal) -> list[dict[str, Any]]:
    """Bookings and blackouts as rows, times naive in the site's zone; `Row` is the resource's
    place on the page (0 = top)."""
    names = {r.id: r.name for r in cal.resources}
    place = {r.id: i for i, r in enumerate(cal.resources)}

    rows = [{"Resource": names[b.resource_id], "Start": naive(b.start_time),
             "End": naive(b.end_time), "Status": b.status,
             "What": b.purpose or ("Your booking" if b.own else "Booked"),
             "Who": b.requester_name or "", "Priority": b.priority,
             "Series": ui.SERIES_MARK if b.series_id else "", "Ref": ui.short_id(b.booking_id),
             "Id": str(b.booking_id), "Kind": "booking", "Row": place[b.resource_id]}
            for b in cal.bars]
    rows += [{"Resource": names[x.resource_id], "Start": naive(x.start_time),
              "End": naive(x.end_time), "Status": "blackout", "What": x.reason, "Who": "",
              "Priority": None, "Series": "", "Ref": "", "Id": "", "Kind": "blackout",
              "Row": place[x.resource_id]}
             for x in cal.blackouts]
    return rows


def listing(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The same entries as a table, earliest first, without the internal columns."""
    frame = pd.DataFrame(rows, columns=COLUMNS).sort_values("Start")
    for col in ("Start", "End"):
        frame[col] = [f"{t:%a %d %b %H:%M}" for t in frame[col]]
    return frame.drop(columns=["Id", "Kind"])


def _free_slots(cal, rows, lo: datetime, hi: datetime, step: timedelta) -> list[dict]:
    """A see-through cell over each free slot of each resource: clicking it starts a booking
    there. Slots anything overlaps get none, so a click on a booking opens the booking. A cell
    is only its row and start: the rest is computed in the browser (`_slot_fields`), which
    keeps a week of 20 resources (over a thousand cells) small to send."""
    n = max(1, math.ceil((hi - lo) / step))
    taken = [bytearray(n) for _ in cal.resources]
    for row in rows:
        first = max(0, int((row["Start"] - lo) // step))
        last = min(n, math.ceil((row["End"] - lo) / step))
        taken[row["Row"]][first:last] = b"\x01" * max(0, last - first)
    return [{"k": "slot", "s": ms(lo + i * step), "y": place}
            for place in range(len(cal.resources)) for i in range(n) if not taken[place][i]]


def _slot_fields(cal, step: timedelta) -> list[dict[str, Any]]:
    """Vega-Lite transforms that give a free cell its end, resource id, colour key and hover
    text (bars carry theirs), and every item its row's band."""
    names = json.dumps([r.name for r in cal.resources])
    ids = json.dumps([str(r.id) for r in cal.resources])
    slot = "datum.k === 'slot'"
    return [
        {"calculate": f"{slot} ? datum.s + {int(step / timedelta(milliseconds=1))} : datum.e",
         "as": "e"},
        {"calculate": f"{slot} ? {ids}[datum.y] : datum.id", "as": "id"},
        {"calculate": f"{slot} ? '{SLOT}' : datum.c", "as": "c"},
        {"calculate": f"{slot} ? 'Book ' + {names}[datum.y] + ' at ' + "
                      "utcFormat(datum.s, '%a %d %b %H:%M') : datum.tip", "as": "tip"},
        {"calculate": "datum.y - 0.38", "as": "y0"},
        {"calculate": "datum.y + 0.38", "as": "y1"},
    ]


def _span(row: dict[str, Any]) -> str:
    start, end = row["Start"], row["End"]
    same_day = end.date() == start.date()
    return f"{start:%a %d %b %H:%M} – {end:{'%H:%M' if same_day else '%a %d %b %H:%M'}}"


def _bar(row: dict[str, Any]) -> dict[str, Any]:
    extra = " · ".join(x for x in (
        row["Who"], "" if row["Priority"] is None else f"priority {row['Priority']}",
        row["Series"]) if x)
    tip = f"{row['What']} — {row['Resource']} · {row['Status']} · {_span(row)}"
    return {"k": row["Kind"], "id": row["Id"], "s": ms(row["Start"]), "e": ms(row["End"]),
            "y": row["Row"], "c": row["Status"], "ser": bool(row["Series"]),
            "tip": tip + (f" · {extra}" if extra else "")}


def _row_axis(order: list[str]) -> dict[str, Any]:
    """Row names from the row number; cut short (with an ellipsis) on a narrow screen."""
    return {"values": list(range(len(order))), "title": None, "grid": False, "ticks": False,
            "domain": False, "labelExpr": f"{json.dumps(order)}[datum.value]",
            "labelLimit": {"expr": f"width < 420 ? {PHONE_LABEL_PX} : {WIDE_LABEL_PX}"}}


def timeline(cal, rows, view: str, lo: datetime, hi: datetime, now: datetime
             ) -> dict[str, Any]:
    """Resources as rows, bookings as bars coloured by status. A click selects the cell or bar
    under the pointer ("pick"); a drag draws a window ("drag")."""
    order = [r.name for r in cal.resources]
    step = timedelta(hours=1) if view == "Day" else timedelta(hours=3)
    statuses = list(dict.fromkeys(row["Status"] for row in rows))
    domain = [SLOT, *statuses]
    colours = ["rgba(0,0,0,0)", *(ui.STATUS_COLOURS.get(s, "#888") for s in statuses)]
    values = _free_slots(cal, rows, lo, hi, step) + [_bar(row) for row in rows]
    layers: list[dict[str, Any]] = [{
        "data": {"values": values}, "transform": _slot_fields(cal, step),
        "params": [
            {"name": "pick", "select": {"type": "point", "fields": ["k", "id", "s"],
                                        "on": "click", "clear": False}},
            {"name": "drag", "select": {"type": "interval", "encodings": ["x", "y"],
                                        "clear": False,
                                        "mark": {"fill": "#1c7ed6", "fillOpacity": 0.15,
                                                 "stroke": "#1c7ed6"}}},
        ],
        "mark": {"type": "rect", "cornerRadius": 2},
        "encoding": {
            "x": {"field": "s", "type": "temporal",
                  "scale": {"type": "utc", "domain": [ms(lo), ms(hi)]},
                  "axis": {"orient": "top", "title": None, "grid": True,
                           "format": "%H:%M" if view == "Day" else "%a %d %b",
                           # A count, not {"interval": "hour"}: that fails on a UTC scale
                           # in the bundled Vega.
                           "tickCount": 12 if view == "Day" else 7}},
            "x2": {"field": "e"},
            "y": {"field": "y0", "type": "quantitative", "axis": _row_axis(order),
                  "scale": {"domain": [-0.5, len(order) - 0.5], "reverse": True,
                            "nice": False, "zero": False}},
            "y2": {"field": "y1"},
            "color": {"field": "c", "type": "nominal",
                      "scale": {"domain": domain, "range": colours},
                      "legend": {"values": statuses, "orient": "bottom", "title": None}},
            "stroke": {"condition": {"test": "datum.ser", "value": "#1f2933"},
                       "value": None},
            "tooltip": {"field": "tip", "type": "nominal"},
        },
    }]
    now = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    if lo <= now < hi:
        mark: dict[str, Any] = {"data": {"values": [{"t": ms(now), "label": "now"}]},
                "encoding": {"x": {"field": "t", "type": "temporal"}}}
        layers.append({**mark, "mark": {"type": "rule", "color": NOW_COLOUR, "strokeWidth": 2}})
        layers.append({**mark, "mark": {"type": "text", "color": NOW_COLOUR, "align": "left",
                                        "baseline": "top", "dx": 3, "y": 2},
                       "encoding": {**mark["encoding"], "text": {"field": "label"}}})
    return {"$schema": "https://vega.github.io/schema/vega-lite/v6.json",
            "width": "container", "height": 24 + 34 * len(order), "layer": layers,
            "config": {"view": {"stroke": None}}}


def month_grid(cal, lo: datetime, hi: datetime) -> dict[str, Any]:
    """Bookings per day per resource (counted in SQL), a day a row and a resource a column:
    31 day columns turned into slivers on a phone, while a column per resource stays wide
    enough. A click on a cell opens that day."""
    days = [lo.date() + timedelta(days=i) for i in range((hi - lo).days)]
    order = [r.name for r in cal.resources]
    values = [{"r": r.name, "d": f"{d:%a %d %b}", "day": d.isoformat(),
               "n": cal.day_counts.get((r.id, i), 0)}
              for i, d in enumerate(days) for r in cal.resources]
    for v in values:
        v["t"] = str(v["n"]) if v["n"] else ""
    enc = {"x": {"field": "r", "type": "nominal", "sort": order,
                 "axis": {"orient": "top", "title": None, "labelAngle": -60,
                          "labelLimit": 120, "labelOverlap": False}},
           "y": {"field": "d", "type": "ordinal", "sort": None,
                 "axis": {"title": None, "labelOverlap": False}}}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": "container", "height": 22 * len(days), "data": {"values": values},
        "layer": [
            {"params": [{"name": "pick", "select": {"type": "point", "fields": ["day"],
                                                    "on": "click", "clear": False}}],
             "mark": {"type": "rect", "stroke": "white", "strokeWidth": 2},
             "encoding": {**enc, "color": {
                 "field": "n", "type": "quantitative", "legend": None,
                 "scale": {"range": ["#f4f6f8", "#2e933c"], "domainMin": 0}},
                 "tooltip": [{"field": "r", "title": "Resource"},
                             {"field": "d", "title": "Day"},
                             {"field": "n", "title": "Bookings"}]}},
            {"mark": {"type": "text", "fontSize": 11}, "encoding": {**enc, "text": {"field": "t"}}},
        ],
        "config": {"view": {"stroke": None}},
    }
