"""admin_resources"""
import streamlit as st

st.title("admin_resources")
