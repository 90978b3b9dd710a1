"""The edge's web app: the JSON API under /api/v1 and (added as routers on the same deps) the
pages for applicants and staff. `create_app(settings)` builds it."""
