"""approval_queue"""
import streamlit as st

st.title("approval_queue")
