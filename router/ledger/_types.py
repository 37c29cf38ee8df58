"""Column types that keep money exact and times in UTC on every database we support.

SQLite has no decimal type (its NUMERIC affinity silently turns values into floats), so there
money is stored as an integer count of 1e-10 USD, which SQLite sums exactly. PostgreSQL stores
`NUMERIC(20, 10)`. Either way Python sees `Decimal`, quantized to 10 places with ROUND_HALF_EVEN.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Numeric
from sqlalchemy.types import TypeDecorator, TypeEngine

MONEY_SCALE = 10
MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)


def quantize_money(value: Decimal) -> Decimal:
    """Round to the ledger's storage precision (1e-10 USD), half to even."""
    return value.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)


CENT = Decimal("0.01")


def cents(amount: Decimal) -> Decimal:
    """Round USD to the cent, half to even (banker's rounding), for display."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def exact(amount: Decimal) -> str:
    """The amount as a plain decimal string (never scientific notation)."""
    return format(amount, "f")


def money_impl() -> TypeEngine[Any]:
    """The storage type, as migrations must spell it: NUMERIC(20, 10), BIGINT on SQLite."""
    return Numeric(20, MONEY_SCALE, asdecimal=True).with_variant(BigInteger(), "sqlite")


class Money(TypeDecorator[Decimal]):
    """Exact USD: NUMERIC(20, 10) on PostgreSQL, integer 1e-10 USD units on SQLite."""

    impl = Numeric(20, MONEY_SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(20, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = quantize_money(Decimal(value))
        if dialect.name == "sqlite":
            return int(amount.scaleb(MONEY_SCALE))
        return amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-MONEY_SCALE)
        return Decimal(value)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out. Naive values are taken to be UTC already."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        # SQLite stores text; dropping the (always UTC) offset keeps it sortable as text.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
