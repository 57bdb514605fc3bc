"""The logo's name stays readable on the light and the dark theme (it is drawn on both)."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (int(hex_colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_logo_name_reads_on_both_themes_sidebars():
    theme = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]
    svg = (ROOT / "dashboard" / "static" / "logo.svg").read_text()
    [fill] = re.findall(r'<text[^>]*fill="(#[0-9a-fA-F]{6})"', svg)
    for mode in ("light", "dark"):  # the logo sits on the sidebar's background
        background = theme[mode]["secondaryBackgroundColor"]
        assert contrast(fill, background) >= 3.0, (mode, fill, background)  # large bold text
