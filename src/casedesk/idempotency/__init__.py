"""Idempotency-Key on writes: a retried write answers what the first one answered, once."""
