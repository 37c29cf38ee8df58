"""Outcome files as other exporters write them, built in code: the cases `router adapt`,
`router eval` and `router calibrate` must all read alike (tests/test_adapt_foreign_files.py,
tests/test_eval_foreign_files.py)."""

from __future__ import annotations

import codecs
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

HARD = "Prove that the integral of x^{} log x converges, step by step, rigorously."
EASY = "Say hello to my friend number {} in a friendly tone."
SECRET = "zq-secret-prompt-text"
LOCAL, FRONTIER = "ollama/qwen3.5:9b", "openai/gpt-5.4"
Row = dict[str, Any]


def rows(n: int = 60, lo: float = 0.0, hi: float = 1.0) -> list[Row]:
    """Hard prompts: local fails, frontier mostly passes; easy ones: both pass."""
    out = []
    for i in range(n):
        hard = i % 2 == 0
        local = lo if hard else hi
        frontier = hi if (not hard or i % 10) else lo
        out.append(
            {
                "id": f"r{i}",
                "prompt": (HARD if hard else EASY).format(i),
                "scores": {LOCAL: local, FRONTIER: frontier, "judge/other:7b": hi},
                "local_model": LOCAL,
                "frontier_model": FRONTIER,
            }
        )
    return out


def jsonl(table: list[Row]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in table)


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return path


def chat(r: Row) -> Row:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    messages += [
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": r["prompt"]},
    ]
    return {**r, "prompt": messages}


def parts(r: Row) -> Row:
    return {**r, "prompt": [{"role": "user", "content": [{"type": "text", "text": r["prompt"]}]}]}


def strings(r: Row) -> Row:
    return {**r, "scores": {m: str(s) for m, s in r["scores"].items()}}


def booleans(r: Row) -> Row:
    return {**r, "scores": {m: bool(s) for m, s in r["scores"].items()}}


def int_id(r: Row) -> Row:
    return {**r, "id": int(r["id"][1:])}


def no_id(r: Row) -> Row:
    return {k: v for k, v in r.items() if k != "id"}


SAME_ROWS: dict[str, Callable[[list[Row]], str | bytes]] = {
    "crlf": lambda t: jsonl(t).replace("\n", "\r\n"),
    "utf-8 BOM": lambda t: "\ufeff" + jsonl(t),
    "blank lines": lambda t: "\n \n" + jsonl(t).replace("\n", "\n\t\n"),
    "utf-16 BOM": lambda t: codecs.BOM_UTF16_LE + jsonl(t).encode("utf-16-le"),
    "gzip": lambda t: gzip.compress(jsonl(t).encode()),
    "JSON array": lambda t: json.dumps(t, indent=2),
    "chat messages": lambda t: jsonl([chat(r) for r in t]),
    "content parts": lambda t: jsonl([parts(r) for r in t]),
    "numeric strings": lambda t: jsonl([strings(r) for r in t]),
    "booleans": lambda t: jsonl([booleans(r) for r in t]),
    "integer ids": lambda t: jsonl([int_id(r) for r in t]),
    "no ids": lambda t: jsonl([no_id(r) for r in t]),
}


def broken_file(tmp_path: Path) -> Path:
    table = rows()
    del table[4]["scores"][FRONTIER]  # line 5
    table[6]["scores"][LOCAL] = None  # line 7
    table[8]["scores"][LOCAL] = float("nan")  # line 9: NaN, as Python's json writes it
    table[10]["scores"][FRONTIER] = "n/a"  # line 11
    table[12]["prompt"] = None  # line 13
    table[14]["local_model"] = ""  # line 15
    table[16]["scores"][LOCAL] = 10**400  # line 17: no float holds it
    table[18]["frontier_model"] = "gpt-\ud800"  # line 19: not text (a lone surrogate)
    table[18]["scores"]["gpt-\ud800"] = 1.0
    for r in table:
        r["prompt"] = r["prompt"] or None
        r["scores"]["extra"] = "junk"  # a non-number for another model: ignored
    text = "".join(json.dumps(r) + "\n" for r in table).replace(EASY.format(1), SECRET)
    return write(tmp_path / "broken.jsonl", text + '[1, 2]\n{"id": "cut", "prompt": "abc')
