"""Range-Control engine: the domain, its storage and the services every entrypoint calls.

Nothing in here imports Streamlit, FastAPI or any other front end.
"""
