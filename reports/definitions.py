"""The reports: each turns engine.analytics rows into named tables and charts.

A report is a function (session, ReportRequest) -> Report. Tables are pandas DataFrames in a
fixed column order and row order, so the same inputs always give byte-identical files.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
from sqlalchemy.orm import Session

from engine import analytics
from reports.wording import READABLE, readable  # noqa: F401 - re-exported for the renderers

#: Charts draw at most this many groups (the busiest); the CSV always has every row.
CHART_GROUPS = 20

#: One colour per booking status, the same in every chart.
STATUS_COLOURS = {"approved": "#2e7d32", "pending": "#f9a825", "denied": "#c62828",
                  "cancelled": "#78909c", "bumped": "#6a1b9a"}
@dataclass(frozen=True)
class ReportRequest:
    start: date
    end: date  # exclusive
    tz: ZoneInfo
    period: analytics.Period = "week"
    group_by: analytics.GroupBy = "resource"


@dataclass
class Report:
    name: str
    title: str
    request: ReportRequest
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: list[go.Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    headline: list[HeadlineFigure] = field(default_factory=list)


@dataclass(frozen=True)
class HeadlineFigure:
    """One figure at the top of the weekly summary, beside the same figure one period earlier.

    kind: "count", "percent" (a 0..1 share; change in percentage points) or "hours".
    None means there was nothing to measure (no decisions, no check-in bookings).
    """
    name: str
    kind: str
    current: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return round(self.current - self.previous, 6)


def _frame(rows: list, columns: list[str]) -> pd.DataFrame:
    """Rows of flat dataclasses to a frame (vars(), not asdict(): no deep copy per row)."""
    return pd.DataFrame.from_records([vars(r) for r in rows], columns=columns)


def _layout(fig: go.Figure, title: str, y_title: str, percent: bool = False) -> go.Figure:
    fig.update_layout(title=title, template="plotly_white", height=420,
                      margin=dict(l=60, r=20, t=60, b=60), legend_title_text="")
    fig.update_yaxes(title_text=y_title, tickformat=".0%" if percent else None)
    return fig


# ---------------------------------------------------------------- single reports

def utilization_tables(session: Session, req: ReportRequest, group_by: analytics.GroupBy
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per period and group, and the whole range per group (hours summed, then divided)."""
    rows = analytics.utilization(session, start=req.start, end=req.end, tz=req.tz,
                                 group_by=group_by, period=req.period)
    detail = _frame(rows, ["period_start", "group_key", "label", "booked_hours",
                           "bookable_hours", "utilization"])
    if group_by == "type":  # resource and zone labels are names people typed; types are keys
        detail["label"] = detail["label"].map(readable)
    total = (detail.groupby(["group_key", "label"], as_index=False, sort=True)
             [["booked_hours", "bookable_hours"]].sum())
    total["booked_hours"] = total["booked_hours"].round(4)
    total["bookable_hours"] = total["bookable_hours"].round(4)
    total["utilization"] = (total["booked_hours"] / total["bookable_hours"]).where(
        total["bookable_hours"] > 0, 0.0).round(6)
    total = total.sort_values(["utilization", "label", "group_key"],
                              ascending=[False, True, True], kind="mergesort"
                              ).reset_index(drop=True)
    return detail, total


def utilization_figures(detail: pd.DataFrame, total: pd.DataFrame, group_by: str
                        ) -> list[go.Figure]:
    top = total.head(CHART_GROUPS)
    bar = go.Figure(go.Bar(x=top["label"], y=top["utilization"], name="Utilization",
                           marker_color="#1565c0"))
    figs = [_layout(bar, f"Utilization by {group_by} over the whole range"
                    + (f" (busiest {CHART_GROUPS})" if len(total) > CHART_GROUPS else ""),
                    "booked ÷ bookable", percent=True)]
    per_period = (detail.groupby("period_start", as_index=False, sort=True)
                  [["booked_hours", "bookable_hours"]].sum())
    per_period["utilization"] = (per_period["booked_hours"] / per_period["bookable_hours"]).where(
        per_period["bookable_hours"] > 0, 0.0)
    line = go.Figure(go.Scatter(x=per_period["period_start"].astype(str),
                                y=per_period["utilization"], mode="lines+markers",
                                name="All resources", line_color="#1565c0"))
    figs.append(_layout(line, "Utilization per period, all active resources",
                        "booked ÷ bookable", percent=True))
    return figs


def utilization_report(session: Session, req: ReportRequest) -> Report:
    detail, total = utilization_tables(session, req, req.group_by)
    report = Report("utilization", f"Utilization by {req.group_by}", req,
                    {"by_period": detail, "total": total},
                    utilization_figures(detail, total, req.group_by))
    report.notes.append("Bookable hours: each active resource's operating hours in the site "
                        "time zone (24 h when none are set), minus blackouts. Booked hours: "
                        "approved bookings, clipped to each period.")
    return report


def _rate_frame(rows: list[analytics.RateRow]) -> pd.DataFrame:
    return _frame(rows, ["period_start", "numerator", "denominator", "rate"])


def _rate_figure(frame: pd.DataFrame, title: str, colour: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=frame["period_start"].astype(str), y=frame["rate"], name="Rate",
                           marker_color=colour,
                           customdata=frame[["numerator", "denominator"]],
                           hovertemplate="%{y:.1%} (%{customdata[0]} of %{customdata[1]})"))
    return _layout(fig, title, "share", percent=True)


def conflict_rate_report(session: Session, req: ReportRequest) -> Report:
    frame = _rate_frame(analytics.conflict_rate(session, start=req.start, end=req.end,
                                                tz=req.tz, period=req.period))
    frame = frame.rename(columns={"numerator": "conflicting_requests", "denominator": "requests"})
    fig = _rate_figure(frame.rename(columns={"conflicting_requests": "numerator",
                                             "requests": "denominator"}),
                       "Requests that met a hard conflict", "#ef6c00")
    return Report("conflict-rate", "Conflict rate", req, {"conflict_rate": frame}, [fig],
                  ["A request counts as conflicting when, at the time it was made, an approved "
                   "booking or a blackout overlapped it on its resource or safety zone."])


def approval_rate_report(session: Session, req: ReportRequest) -> Report:
    frame = _rate_frame(analytics.approval_rate(session, start=req.start, end=req.end,
                                                tz=req.tz, period=req.period))
    fig = _rate_figure(frame, "Approved share of decided requests", STATUS_COLOURS["approved"])
    frame = frame.rename(columns={"numerator": "approved", "denominator": "decided"})
    return Report("approval-rate", "Approval rate", req, {"approval_rate": frame}, [fig],
                  ["Approved (including later bumped) ÷ approved + denied, by the time of the "
                   "first decision."])


def turnaround_frames(session: Session, req: ReportRequest) -> tuple[pd.DataFrame, pd.DataFrame]:
    cols = ["period_start", "decided", "p50_hours", "p90_hours"]
    per = _frame(analytics.approval_turnaround(session, start=req.start, end=req.end, tz=req.tz,
                                               period=req.period), cols)
    overall = _frame(analytics.approval_turnaround(session, start=req.start, end=req.end,
                                                   tz=req.tz, period=None), cols)
    overall["period_start"] = req.start
    return per, overall


def approval_turnaround_report(session: Session, req: ReportRequest) -> Report:
    per, overall = turnaround_frames(session, req)
    fig = go.Figure([go.Scatter(x=per["period_start"].astype(str), y=per[c], name=readable(c),
                                mode="lines+markers", line_color=colour)
                     for c, colour in (("p50_hours", "#1565c0"), ("p90_hours", "#90caf9"))])
    return Report("approval-turnaround", "Approval turnaround", req,
                  {"by_period": per, "overall": overall},
                  [_layout(fig, "Hours from request to decision", "hours")],
                  ["From the request to its first decision (approve or deny). Percentiles are "
                   "interpolated (percentile_cont)."])


def bookings_per_day_frame(session: Session, req: ReportRequest) -> pd.DataFrame:
    rows = analytics.bookings_per_day(session, start=req.start, end=req.end, tz=req.tz)
    long = _frame(rows, ["day", "status", "count"])
    wide = long.pivot_table(index="day", columns="status", values="count", aggfunc="sum",
                            fill_value=0)
    days = pd.Index(pd.date_range(req.start, req.end, freq="D", inclusive="left").date, name="day")
    statuses = ["pending", "approved", "denied", "cancelled", "bumped"]
    wide = wide.reindex(index=days, columns=statuses, fill_value=0).astype(int)
    wide["total"] = wide[statuses].sum(axis=1)
    return wide.reset_index()


def bookings_per_day_report(session: Session, req: ReportRequest) -> Report:
    frame = bookings_per_day_frame(session, req)
    fig = go.Figure([go.Bar(x=frame["day"].astype(str), y=frame[s], name=readable(s),
                            marker_color=STATUS_COLOURS[s])
                     for s in ("approved", "pending", "denied", "cancelled", "bumped")])
    fig.update_layout(barmode="stack")
    return Report("bookings-per-day", "Bookings per day", req, {"bookings_per_day": frame},
                  [_layout(fig, "Bookings by start day and current status", "bookings")])


def bumps_cancellations_report(session: Session, req: ReportRequest) -> Report:
    frame = _frame(analytics.bumps_and_cancellations(session, start=req.start, end=req.end,
                                                     tz=req.tz, period=req.period),
                   ["period_start", "bumps", "cancellations"])
    fig = go.Figure([go.Bar(x=frame["period_start"].astype(str), y=frame[c], name=readable(c),
                            marker_color=colour)
                     for c, colour in (("bumps", STATUS_COLOURS["bumped"]),
                                       ("cancellations", STATUS_COLOURS["cancelled"]))])
    return Report("bumps-cancellations", "Bumps and cancellations", req,
                  {"bumps_cancellations": frame},
                  [_layout(fig, "Bumps and cancellations, by when they happened", "bookings")])


def headline_figures(session: Session, start: date, end: date, tz: ZoneInfo
                     ) -> dict[str, tuple[str, float | None]]:
    """The five figures a manager reads first, for [start, end), from the engine's analytics."""
    from engine.dayops_reports import no_show_rates

    counts = analytics.bookings_per_day(session, start=start, end=end, tz=tz)
    rates = analytics.approval_rate(session, start=start, end=end, tz=tz, period="month")
    approved, decided = sum(r.numerator for r in rates), sum(r.denominator for r in rates)
    turnaround = analytics.approval_turnaround(session, start=start, end=end, tz=tz, period=None)
    used = analytics.utilization(session, start=start, end=end, tz=tz, group_by="resource",
                                 period="month")
    booked, bookable = sum(r.booked_hours for r in used), sum(r.bookable_hours for r in used)
    shows = no_show_rates(session, start=start, end=end, tz=tz, by="resource")
    no_shows, attended = sum(r.no_shows for r in shows), sum(r.attended for r in shows)
    return {
        "Bookings": ("count", float(sum(r.count for r in counts))),
        "Approval rate": ("percent", round(approved / decided, 6) if decided else None),
        "Median turnaround": ("hours", turnaround[0].p50_hours if turnaround else None),
        "Utilization": ("percent", round(booked / bookable, 6) if bookable else None),
        "No-shows": ("count", float(no_shows) if no_shows + attended else None),
    }


def headline(session: Session, req: ReportRequest) -> list[HeadlineFigure]:
    """This range beside the range of the same length just before it (last week's values)."""
    length = req.end - req.start
    now = headline_figures(session, req.start, req.end, req.tz)
    before = headline_figures(session, req.start - length, req.start, req.tz)
    return [HeadlineFigure(name, kind, value, before[name][1])
            for name, (kind, value) in now.items()]


def headline_frame(figures: list[HeadlineFigure]) -> pd.DataFrame:
    return pd.DataFrame([{"figure": f.name, "unit": f.kind, "this_period": f.current,
                          "previous_period": f.previous, "change": f.change} for f in figures],
                        columns=["figure", "unit", "this_period", "previous_period", "change"])


def weekly_summary_report(session: Session, req: ReportRequest) -> Report:
    """Everything a manager reads on Monday morning, in one file."""
    parts = [
        utilization_report(session, ReportRequest(req.start, req.end, req.tz, req.period,
                                                  "resource")),
        utilization_report(session, ReportRequest(req.start, req.end, req.tz, req.period, "type")),
        utilization_report(session, ReportRequest(req.start, req.end, req.tz, req.period, "zone")),
        conflict_rate_report(session, req),
        approval_rate_report(session, req),
        approval_turnaround_report(session, req),
        bookings_per_day_report(session, req),
        bumps_cancellations_report(session, req),
    ]
    summary = Report("weekly-summary", "Weekly summary", req)
    summary.headline = headline(session, req)
    summary.tables["headline"] = headline_frame(summary.headline)
    names = ["utilization_by_resource", "utilization_by_type", "utilization_by_zone", "", "",
             "turnaround", "", ""]
    for prefix, part in zip(names, parts, strict=True):
        for key, frame in part.tables.items():
            if prefix and key == "by_period" and prefix.startswith("utilization"):
                continue  # the summary keeps the per-group totals; the detail has its own report
            summary.tables[f"{prefix}_{key}" if prefix else key] = frame
        if prefix == "utilization_by_resource":
            summary.figures.extend(part.figures)  # busiest resources, and the trend
        elif prefix.startswith("utilization"):
            summary.figures.extend(part.figures[:1])
        else:
            summary.figures.extend(part.figures)
        summary.notes.extend(n for n in part.notes if n not in summary.notes)
    summary.notes.insert(0, "Headline: each figure for this period beside the period of the same "
                         "length just before it. Bookings start in the period (any status); "
                         "no-shows are bookings released for not checking in (types that need "
                         "check-in only). Change in percentage points for rates.")
    return summary


def no_show_report(session: Session, req: ReportRequest) -> Report:
    """No-show rate per resource and per member: released ÷ (checked in + released)."""
    from engine.dayops_reports import NoShowBy, no_show_rates

    tables = {}
    groupings: tuple[tuple[NoShowBy, str], ...] = (("resource", "resource"), ("member", "member"))
    for by, label in groupings:
        rows = no_show_rates(session, start=req.start, end=req.end, tz=req.tz, by=by)
        tables[f"by_{by}"] = pd.DataFrame(
            [{label: r.name, "checked_in": r.attended, "no_shows": r.no_shows,
              "no_show_rate": round(r.rate, 4)} for r in rows],
            columns=[label, "checked_in", "no_shows", "no_show_rate"])
    top = tables["by_resource"].head(CHART_GROUPS)
    fig = go.Figure([go.Bar(x=top["resource"], y=top["no_show_rate"], name="No-show rate",
                            marker_color="#ad1457")])
    return Report("no-shows", "No-show rate", req, tables,
                  [_layout(fig, "No-show rate per resource", "share", percent=True)],
                  ["Bookings that started in the period and needed someone to turn up: "
                   "checked in, or released as no-show by the system at the end of the grace "
                   "period. Types without required check-in are not counted."])


REPORTS: dict[str, tuple[Callable[[Session, ReportRequest], Report], str]] = {
    "utilization": (utilization_report, "booked ÷ bookable hours per resource, type or zone"),
    "conflict-rate": (conflict_rate_report, "share of requests that met a hard conflict"),
    "approval-turnaround": (approval_turnaround_report, "request to decision, p50 and p90"),
    "bookings-per-day": (bookings_per_day_report, "bookings per start day and status"),
    "approval-rate": (approval_rate_report, "approved ÷ decided"),
    "bumps-cancellations": (bumps_cancellations_report, "bumps and cancellations per period"),
    "weekly-summary": (weekly_summary_report, "all of the above in one report"),
    "no-shows": (no_show_report, "no-show rate per resource and per member"),
}
