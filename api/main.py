"""`uvicorn api.main:app`: the API on DATABASE_URL (or the local SQLite file)."""
from api.app import create_app

app = create_app()
