"""Tell our own failures from the provider's: was the request ever sent?

litellm and the ollama client wrap whatever goes wrong, including a request we could not
serialise (text with a lone surrogate cannot be encoded as UTF-8; a structure too deep to copy
or encode), in the same classes as upstream failures: an HTTP 500 or a connection error. Such a
request never left the process, so it must not count against the provider.
"""

from __future__ import annotations

import traceback

from router.errors import RequestNotSentError

_ENCODER = ("json/encoder.py", "json\\encoder.py")
_DECODER = ("json/decoder.py", "json\\decoder.py")


def raised_before_sending(exc: BaseException) -> BaseException | None:
    """The exception in the cause chain that shows the request failed while being prepared
    here (encoding its text, copying or serialising it), or None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _ours(current):
            return current
        current = current.__cause__ or current.__context__
    return None


def _ours(exc: BaseException) -> bool:
    if isinstance(exc, UnicodeEncodeError):
        return True
    if not isinstance(exc, RecursionError | TypeError | ValueError):
        return False
    files = [frame.filename for frame in traceback.extract_tb(exc.__traceback__)]
    if isinstance(exc, RecursionError):  # too deep to copy or encode; not a deep response
        return not any(name.endswith(_DECODER) for name in files)
    return any(name.endswith(_ENCODER) for name in files)


def not_sent(root: BaseException, *, model: str, provider: str) -> RequestNotSentError:
    return RequestNotSentError(
        f"{provider}:{model}: the request could not be encoded ({type(root).__name__}) and "
        "was not sent; this is a problem with the request, not the provider",
        model=model,
        provider=provider,
    )
