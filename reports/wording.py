"""Words a manager reads for column and series names, kept apart from the report definitions
(which build plotly figures) so the dashboard uses them without them."""
from __future__ import annotations

#: Words for column and series names a manager reads (the CSV keeps the machine names).
READABLE = {"p50_hours": "Median hours (p50)", "p90_hours": "p90 hours",
            "group_key": "Key", "label": "Name", "period_start": "Period starting",
            "conflicting_requests": "Conflicting requests", "no_show_rate": "No-show rate",
            "checked_in": "Checked in", "no_shows": "No-shows", "this_period": "This period",
            "previous_period": "Previous period"}


def readable(name: object) -> str:
    """`training_area` -> "Training area"; known column names get their own words."""
    text = str(name)
    if text in READABLE:
        return READABLE[text]
    text = text.replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]
