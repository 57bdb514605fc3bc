"""admin_blackouts"""
import streamlit as st

st.title("admin_blackouts")
