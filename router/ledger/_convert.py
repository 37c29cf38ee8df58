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
from router.ledger._types import MONEY_QUANTUM, quantize_money

OUTBOX_FORMAT = 1
Row = dict[str, Any]
_ZERO = Decimal(0)

# The record fields stored as they are, read in C (attrgetter) rather than by a dict
# comprehension over `dataclasses.fields()` per record: the ledger writes a row per request.
_REQUEST_FIELDS = tuple(
    f.name for f in fields(RequestRecord) if f.name not in ("attempts", "content", "user")
)
_request_values = operator.attrgetter(*_REQUEST_FIELDS)
_ATTEMPT_FIELDS = tuple(f.name for f in fields(AttemptRecord))
_attempt_values = operator.attrgetter(*_ATTEMPT_FIELDS)


def request_row(rec: RequestRecord, *, recorded_at: datetime, ingest: str) -> Row:
    row = dict(zip(_REQUEST_FIELDS, _request_values(rec), strict=True))
    row.update(
        user_id=rec.user,
        tags=dict(rec.tags),
        attempt_count=len(rec.attempts),
        recorded_at=recorded_at,
        ingest=ingest,
    )
    row.update(_rounded_totals(rec))
    return row


def _rounded_totals(rec: RequestRecord) -> Row:
    """Request totals as sums of the attempt costs *as stored* (rounded to 1e-10 USD each).

    Costs with more decimals than the ledger keeps (a GPU-hour local price, a negotiated rate)
    would otherwise round to a row cost that differs from the sum of its stored attempts by
    a few 1e-10, and the reports would not add up exactly. Only rounding is absorbed: a record
    whose cost really differs from its attempts is stored as it is, for `verify` to flag.
    """
    cost = local = _ZERO  # one pass, quantize inlined: the ledger does this for every row
    for attempt in rec.attempts:
        stored = attempt.cost_usd.quantize(MONEY_QUANTUM, ROUND_HALF_EVEN)  # quantize_money
        cost += stored
        if attempt.tier == "local":
            local += stored
    if abs(cost - rec.cost_usd) > MONEY_QUANTUM * len(rec.attempts):
        return {}
    return {
        "cost_usd": cost,
        "local_cost_usd": local,
        "savings_usd": quantize_money(rec.baseline_cost_usd) - cost,
    }


def attempt_rows(rec: RequestRecord) -> list[Row]:
    return [
        dict(
            zip(_ATTEMPT_FIELDS, _attempt_values(attempt), strict=True),
            request_id=rec.request_id,
            seq=seq,
        )
        for seq, attempt in enumerate(rec.attempts)
    ]


def content_row(rec: RequestRecord) -> Row | None:
    if rec.content is None:
        return None
    return {
        "request_id": rec.request_id,
        "prompt": rec.content.prompt,
        "answer": rec.content.answer,
    }


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
