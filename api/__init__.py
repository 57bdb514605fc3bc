"""The REST API (/api/v1): a thin FastAPI entrypoint over the engine services."""
