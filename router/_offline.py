"""Keep litellm and tiktoken offline: set their switches before either loads.

litellm fetches a remote price map at import unless `LITELLM_LOCAL_MODEL_COST_MAP` is "True", and
tiktoken downloads encodings unless `TIKTOKEN_CACHE_DIR` holds them; litellm ships o200k, cl100k
and p50k under `litellm_core_utils/tokenizers/`. Both are imported lazily, only through here, so
`import router` stays fast and never touches litellm. We only set variables the user has not set,
and never mutate `litellm.*` globals.
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any


def _litellm_tokenizer_dir() -> Path | None:
    spec = importlib.util.find_spec("litellm")  # finds the package without importing it
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "litellm_core_utils" / "tokenizers"


def prepare_offline_environment() -> None:
    """Set the offline switches (only where the user left them unset)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    tokenizers = _litellm_tokenizer_dir()
    if tokenizers is not None and tokenizers.is_dir():
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(tokenizers))


@cache
def litellm() -> ModuleType:
    """Import litellm with the offline switches set."""
    prepare_offline_environment()
    import litellm as module  # noqa: PLC0415 - lazy on purpose: litellm takes seconds to import

    return module


@cache
def tiktoken_encoding(name: str = "o200k_base") -> Any:
    """A tiktoken encoding loaded from litellm's bundled files (no download)."""
    prepare_offline_environment()
    import tiktoken  # noqa: PLC0415 - lazy: needs TIKTOKEN_CACHE_DIR set first

    return tiktoken.get_encoding(name)
