"""`uvicorn api.main:app`: the API on DATABASE_URL (or the local SQLite file)."""
import gc

from api.app import create_app
from engine.logs import configure_logging

configure_logging(service="range-control-api")
app = create_app()
# The modules, models and schemas loaded so far live as long as the process: moved out of the
# collector's generations, a full collection under load no longer walks them all again.
gc.freeze()
