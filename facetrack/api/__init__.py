"""The REST API and the dashboard of ``facetrack serve`` (docs/server.md): a FastAPI app over
the stores facetrack already has (event store, audience windows, clips, face database), with
accounts, roles, API keys and an append-only audit log. ``create_app(Services)`` builds it;
``facetrack.runtime.web`` runs it."""

from facetrack.api.app import create_app
from facetrack.api.context import Services

__all__ = ["Services", "create_app"]
