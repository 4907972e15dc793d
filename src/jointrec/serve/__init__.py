"""HTTP serving: `create_app(artifact)` builds the FastAPI app; ``jointrec serve`` runs it."""

from jointrec.serve.app import create_app

__all__ = ["create_app"]
