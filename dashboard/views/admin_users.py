"""admin_users"""
import streamlit as st

st.title("admin_users")
