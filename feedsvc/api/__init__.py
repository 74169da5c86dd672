"""The JSON API under /api/v1: routes in ``views`` (registered by create_app), the response
shapes in ``schemas`` (also the outbox's post objects), the OpenAPI 3.1 document in ``openapi``."""
