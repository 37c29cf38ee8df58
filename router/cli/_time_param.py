"""`UTCTime`: the one click type for every time the command line takes.

It accepts ISO 8601 as Python writes it (`datetime.isoformat()`, which the demo prints): a date
(`2025-01-31`, midnight UTC), a date and time with `T` or a space, seconds and a fraction
optional, and an offset (`+01:00`) or `Z`. A time without an offset is UTC. The value is a
timezone-aware `datetime` in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

EXAMPLES = "2025-01-31, 2025-01-31T09:30, 2026-12-06T07:18:29.194091+00:00 or ...Z"


def parse_utc(text: str) -> datetime:
    """ISO 8601 text as an aware UTC datetime (naive means UTC); ValueError if it is not."""
    value = text.strip()
    if value[-1:] in ("Z", "z"):  # fromisoformat takes Z from 3.11; say so for any lower case
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class UTCTime(click.ParamType[datetime, Any]):
    """A click parameter type for an ISO 8601 date or time, returned in UTC."""

    name = "time"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        try:
            return parse_utc(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date or time; e.g. {EXAMPLES}", param, ctx)

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "TIME"


UTC_TIME = UTCTime()
