"""calendar"""
import streamlit as st

st.title("calendar")
