"""Range-Control dashboard entrypoint (placeholder until the dashboard issue lands)."""
from __future__ import annotations

import streamlit as st

from engine.db import Database


@st.cache_resource
def database() -> Database:
    return Database()


st.set_page_config(page_title="Range-Control", layout="wide")
st.title("Range-Control")
st.write("The dashboard is being built. Resources and bookings from the engine:")
