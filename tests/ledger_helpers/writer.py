"""A ledger writer process for the durability tests.

Prints `ready`, then the id of each record once `record()` has returned (i.e. once the ledger
acknowledged it as durable). With --journal, records go through the router's group commit with
the write-ahead journal instead, and an id is printed once `submit()` returned (journaled).
Runs until killed when --count is 0. Every --dup-every-th record
re-sends an earlier id, as a client retrying after a crash would.

    python -m tests.ledger_helpers.writer --url URL --outbox DIR --prefix k3 [--count N]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from router.ledger import SQLLedger, open_ledger
from router.ledger._group import GroupCommit
from tests.ledger_helpers.builders import T0, escalated, hours, make_record

_out = threading.Lock()


def _ack(request_id: str) -> None:
    with _out:
        sys.stdout.write(request_id + "\n")
        sys.stdout.flush()


def _write(
    ledger: object, prefix: str, count: int, dup_every: int, ack: Callable[[str], None] = _ack
) -> None:
    numbers = range(count) if count else itertools.count()
    for i in numbers:
        rid = f"{prefix}-{i}"
        build = escalated if i % 3 == 0 else make_record
        ledger.record(build(rid, created_at=T0 + hours(i % 500)))  # type: ignore[attr-defined]
        ack(rid)
        if dup_every and i and i % dup_every == 0:
            dup = f"{prefix}-{i // 2}"
            ledger.record(build(dup, created_at=T0))  # type: ignore[attr-defined]


def _journaled(ledger: SQLLedger, prefix: str, count: int, dup_every: int) -> None:
    """Rows acknowledged by the journal; the group commit moves them to the database."""

    async def run() -> None:
        writer = GroupCommit(ledger, journal=ledger.journal(), delay_s=0.005)
        numbers = range(count) if count else itertools.count()
        for i in numbers:
            rid = f"{prefix}-{i}"
            build = escalated if i % 3 == 0 else make_record
            await writer.record(build(rid, created_at=T0 + hours(i % 500)))
            _ack(rid)
            if dup_every and i and i % dup_every == 0:  # a client retrying after a crash
                await writer.record(build(f"{prefix}-{i // 2}", created_at=T0))
            if i % 16 == 15:
                await asyncio.sleep(0.001)  # let batches go to the database now and then
        await writer.flush()
        writer.close()

    asyncio.run(run())


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--outbox", required=True, type=Path)
    p.add_argument("--prefix", required=True)
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--busy-ms", type=int, default=5000)
    p.add_argument("--dup-every", type=int, default=0)
    p.add_argument("--journal", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    ledger = open_ledger(args.url, outbox_dir=args.outbox, busy_timeout_ms=args.busy_ms)
    _ack("ready")
    if args.journal:
        _journaled(ledger, args.prefix, args.count, args.dup_every)
        ledger.close()
        return
    threads = [
        threading.Thread(
            target=_write, args=(ledger, f"{args.prefix}.{t}", args.count, args.dup_every)
        )
        for t in range(args.threads)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ledger.close()


if __name__ == "__main__":
    main()
