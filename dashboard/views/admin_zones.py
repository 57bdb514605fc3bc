"""admin_zones"""
import streamlit as st

st.title("admin_zones")
