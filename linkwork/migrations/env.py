"""Alembic environment: the engine comes from linkwork.db (config.attributes['engine'])."""

from alembic import context
from sqlmodel import SQLModel

import linkwork.models  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            # PostgreSQL: roles, grants, row-level security also on tables added since
            from linkwork.access_sql import apply

            apply(connection)


run_migrations_online()
