"""Response headers from upstream are untrusted input: read them here, never raising.

`Retry-After` may be delta-seconds (`120`) or an HTTP-date (RFC 9110 section 10.2.3); some
providers send `retry-after-ms` too. Anything else (text, a malformed or impossible date, a
negative, non-finite or absurd number) means "no hint", never an exception.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Mapping
from datetime import UTC

_DELTA = re.compile(r"[0-9]{1,40}(\.[0-9]{1,6})?", re.ASCII)  # digits only: no "1e9", "nan"
_LONGEST_DATE = 64
_LONGEST_WAIT = 366 * 86400.0  # a larger hint means the same: "not within this request"


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, from `retry-after-ms` or `retry-after`; None when
    it gave no usable hint. `now` (UNIX seconds) dates HTTP-date values; a past date is 0."""
    lowered = {str(k).lower(): v for k, v in headers.items() if isinstance(v, str)}
    millis = _delta(lowered.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    value = lowered.get("retry-after")
    if value is None:
        return None
    delta = _delta(value)
    if delta is not None:
        return delta
    return _http_date(value, time.time() if now is None else now)


def _delta(value: str | None) -> float | None:
    if value is None or not _DELTA.fullmatch(value.strip()):
        return None
    return min(float(value.strip()), _LONGEST_WAIT)


def _http_date(value: str, now: float) -> float | None:
    if len(value) > _LONGEST_DATE:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)  # RFC 9110 dates are GMT
        seconds = parsed.timestamp() - now
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(max(0.0, seconds), _LONGEST_WAIT) if math.isfinite(seconds) else None
