"""Turn a `RequestRecord` into table rows, and into a JSON line for the outbox (and back).

The JSON form is lossless: Decimals travel as strings and datetimes as ISO 8601 with offset, so
a record replayed from the outbox is written exactly as it would have been in the first place.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from router._records import AttemptRecord, CapturedContent, RequestRecord
from router.ledger._schema import AttemptRow, ContentRow, RequestRow
from router.ledger._types import MONEY_QUANTUM, quantize_money

OUTBOX_FORMAT = 1
Row = dict[str, Any]
_ZERO = Decimal(0)

# A row's values in the table's column order, read from the record in C (one `attrgetter`
# over the whole row) rather than through a dict per row: the ledger writes a row per request,
# and the PostgreSQL writer sends values in column order anyway (router/ledger/_write.py).
# Columns the record does not hold as they are read `request_id` as a placeholder and are set
# after.
REQUEST_COLUMNS = tuple(c.name for c in RequestRow.__table__.columns)
ATTEMPT_COLUMNS = tuple(c.name for c in AttemptRow.__table__.columns)
CONTENT_COLUMNS = tuple(c.name for c in ContentRow.__table__.columns)
REQUEST_FIELDS = {f.name for f in fields(RequestRecord)} - {"attempts", "content", "user"}
ATTEMPT_FIELDS = {f.name for f in fields(AttemptRecord)}
_request_values = operator.attrgetter(
    *(
        {"user_id": "user"}.get(c, c if c in REQUEST_FIELDS else "request_id")
        for c in REQUEST_COLUMNS
    )
)
_attempt_values = operator.attrgetter(
    *(c if c in ATTEMPT_FIELDS else "model" for c in ATTEMPT_COLUMNS)
)
_RECORDED, _INGEST, _COUNT, _TAGS, _COST, _LOCAL, _SAVINGS = (
    REQUEST_COLUMNS.index(c)
    for c in (
        "recorded_at",
        "ingest",
        "attempt_count",
        "tags",
        "cost_usd",
        "local_cost_usd",
        "savings_usd",
    )
)
_REQUEST_ID, _SEQ = (ATTEMPT_COLUMNS.index(c) for c in ("request_id", "seq"))


def request_values(rec: RequestRecord, *, recorded_at: datetime, ingest: str) -> list[Any]:
    """The `requests` row of `rec`, values in `REQUEST_COLUMNS` order."""
    values = list(_request_values(rec))
    values[_RECORDED] = recorded_at
    values[_INGEST] = ingest
    values[_COUNT] = len(rec.attempts)
    values[_TAGS] = dict(rec.tags)
    if (totals := _rounded_totals(rec)) is not None:
        values[_COST], values[_LOCAL], values[_SAVINGS] = totals
    return values


def request_row(rec: RequestRecord, *, recorded_at: datetime, ingest: str) -> Row:
    return dict(
        zip(
            REQUEST_COLUMNS,
            request_values(rec, recorded_at=recorded_at, ingest=ingest),
            strict=True,
        )
    )


def _rounded_totals(rec: RequestRecord) -> tuple[Decimal, Decimal, Decimal] | None:
    """Request totals (cost, local cost, savings) as sums of the attempt costs *as stored*
    (rounded to 1e-10 USD each).

    Costs with more decimals than the ledger keeps (a GPU-hour local price, a negotiated rate)
    would otherwise round to a row cost that differs from the sum of its stored attempts by
    a few 1e-10, and the reports would not add up exactly. Only rounding is absorbed: a record
    whose cost really differs from its attempts is stored as it is (None), for `verify` to flag.
    """
    cost = local = _ZERO  # one pass, quantize inlined: the ledger does this for every row
    for attempt in rec.attempts:
        stored = attempt.cost_usd.quantize(MONEY_QUANTUM, ROUND_HALF_EVEN)  # quantize_money
        cost += stored
        if attempt.tier == "local":
            local += stored
    if abs(cost - rec.cost_usd) > MONEY_QUANTUM * len(rec.attempts):
        return None
    return cost, local, quantize_money(rec.baseline_cost_usd) - cost


def attempt_values(rec: RequestRecord) -> list[list[Any]]:
    """The `attempts` rows of `rec`, values in `ATTEMPT_COLUMNS` order."""
    rows = []
    for seq, attempt in enumerate(rec.attempts):
        values = list(_attempt_values(attempt))
        values[_REQUEST_ID] = rec.request_id
        values[_SEQ] = seq
        rows.append(values)
    return rows


def attempt_rows(rec: RequestRecord) -> list[Row]:
    return [dict(zip(ATTEMPT_COLUMNS, values, strict=True)) for values in attempt_values(rec)]


def content_row(rec: RequestRecord) -> Row | None:
    values = content_values(rec)
    return None if values is None else dict(zip(CONTENT_COLUMNS, values, strict=True))


def content_values(rec: RequestRecord) -> list[Any] | None:
    """The `request_content` row of `rec` (`CONTENT_COLUMNS` order), if it captured any."""
    if rec.content is None:
        return None
    return [rec.request_id, rec.content.prompt, rec.content.answer]


def to_json_line(rec: RequestRecord) -> bytes:
    """One outbox line, newline-terminated."""
    body = {"format": OUTBOX_FORMAT, "record": _record_dict(rec)}
    return (json.dumps(body, default=_encode, separators=(",", ":")) + "\n").encode()


def from_json_line(line: bytes) -> RequestRecord:
    """Parse one outbox line; raises ValueError (or a subclass) when it is not a valid record."""
    body = json.loads(line, object_hook=_decode)
    if not isinstance(body, dict) or body.get("format") != OUTBOX_FORMAT:
        raise ValueError("unknown outbox line format")
    data = dict(body["record"])
    data["attempts"] = tuple(AttemptRecord(**a) for a in data["attempts"])
    if data["content"] is not None:
        data["content"] = CapturedContent(**data["content"])
    try:
        return RequestRecord(**data)
    except TypeError as exc:
        raise ValueError(f"outbox record does not match RequestRecord: {exc}") from exc


def _record_dict(rec: RequestRecord) -> Row:
    data = {f.name: getattr(rec, f.name) for f in fields(rec)}
    data["attempts"] = [{f.name: getattr(a, f.name) for f in fields(a)} for a in rec.attempts]
    if rec.content is not None:
        data["content"] = {"prompt": rec.content.prompt, "answer": rec.content.answer}
    return data


def _encode(value: object) -> object:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot store {type(value).__name__} in the outbox")


def _decode(obj: dict[str, Any]) -> object:
    if obj.keys() == {"$decimal"}:
        return Decimal(obj["$decimal"])
    if obj.keys() == {"$datetime"}:
        return datetime.fromisoformat(obj["$datetime"])
    return obj
