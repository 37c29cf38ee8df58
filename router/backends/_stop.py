"""Stop sequences kept by the router itself: litellm drops `stop` for models that refuse it
(GPT-5's reasoning models) under `drop_params`, so a frontier answer is cut here as the
provider would have cut it. A no-op for answers the provider already cut."""

from __future__ import annotations

from collections.abc import Sequence


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """`text` up to the first stop sequence in it (excluded), and whether one was found."""
    found = [i for i in (text.find(s) for s in stop) if i >= 0]
    return (text[: min(found)], True) if found else (text, False)


class StreamStop:
    """Cut a stream of text deltas at the first stop sequence. A delta's tail that could be the
    start of one is held back until the next delta shows whether it is."""

    def __init__(self, stop: Sequence[str]) -> None:
        self._stop = tuple(stop)
        self._hold = max((len(s) for s in stop), default=1) - 1
        self._pending = ""
        self.stopped = False

    def feed(self, delta: str) -> str:
        """The text that may be sent now."""
        if self.stopped or not self._stop:
            return "" if self.stopped else delta
        text, self.stopped = cut_at_stop(self._pending + delta, self._stop)
        if self.stopped:
            self._pending = ""
            return text
        cut = max(len(text) - self._hold, 0)
        self._pending = text[cut:]
        return text[:cut]

    def flush(self) -> str:
        """What was held back, once the stream has ended."""
        rest, self._pending = self._pending, ""
        return rest
