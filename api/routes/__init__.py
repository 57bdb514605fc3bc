"""Routers of /api/v1, one module per resource of the architecture's API structure."""
