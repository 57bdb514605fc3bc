"""`uvicorn api.main:app`: the API on DATABASE_URL (or the local SQLite file)."""
from api.app import create_app
from engine.logs import configure_logging

configure_logging(service="range-control-api")
app = create_app()
