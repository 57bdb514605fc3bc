"""Scheduled and on-demand management reports (CSV and self-contained HTML), run as
`python -m reports`."""
