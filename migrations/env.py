"""Alembic environment of the ledger, configured from code by `router.ledger._migrate`.

`router db upgrade` passes an open connection in `config.attributes["connection"]`, already
inside a transaction that holds the write lock; Alembic then runs every step in it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from router.ledger._schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        context.configure(
            url=context.config.get_main_option("sqlalchemy.url"),
            target_metadata=metadata,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


_main()
