from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from casedesk.schema.migrate import is_modelled
from casedesk.schema.tables import load_all
from casedesk.storage.database import Base, configure_sqlite, sync_url

load_all()
config = context.config
url = sync_url(config.get_main_option("sqlalchemy.url") or "")
engine = create_engine(url, poolclass=pool.NullPool, hide_parameters=True)
if engine.dialect.name == "sqlite":
    configure_sqlite(engine)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=engine.dialect.name == "sqlite",
        compare_type=True,
        include_name=is_modelled,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
