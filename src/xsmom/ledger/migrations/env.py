"""Alembic environment of the ledger: always run in code with a connection handed over.

``xsmom.ledger.db.upgrade`` builds the Config in code and puts an open connection (inside the
transaction that also holds the migration lock) in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from xsmom.ledger.models import Base


def run_migrations_online() -> None:
    """Run the migrations on the connection the caller handed over."""
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("ledger migrations run through xsmom.ledger.db, with a connection")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) mode is not supported for the ledger")
run_migrations_online()
