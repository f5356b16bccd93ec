"""Swagger UI at /swagger: the page, its start-up script and the vendored Swagger UI (assets/)."""
