"""audit_log"""
import streamlit as st

st.title("audit_log")
