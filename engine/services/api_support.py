"""Services the REST API needs beyond the dashboard's; they live with their rules and are
re-exported here so the API imports one place."""
from engine.services.users import update_user  # noqa: F401
