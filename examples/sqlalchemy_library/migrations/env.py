"""Alembic's environment: online migrations through SQLAlchemy, as most projects have it."""

from alembic import context
from library.models import Base
from sqlalchemy import engine_from_config, pool

config = context.config
engine = engine_from_config(
    config.get_section(config.config_ini_section), prefix="sqlalchemy.", poolclass=pool.NullPool
)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
