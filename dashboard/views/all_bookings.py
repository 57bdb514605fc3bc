"""all_bookings"""
import streamlit as st

st.title("all_bookings")
