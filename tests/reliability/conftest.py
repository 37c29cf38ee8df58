"""Fixtures for the reliability rows: the three loopback servers, started and stopped per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from router.testing import AnthropicServer, OllamaServer, OpenAIServer
from tests.reliability._loopback import Servers


@pytest.fixture
def servers() -> Iterator[Servers]:
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an
