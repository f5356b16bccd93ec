"""The schema as a whole: every table, the Alembic migrations, and running them."""
