"""Fixtures shared by the reliability tests."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from .support import Listener


@pytest.fixture
def running() -> Iterator[Any]:
    """running(*args) -> a `ser-edge listen` child (`Listener`), killed at the end of the test."""
    made: list[Listener] = []

    def start(*args: str, **kwargs: Any) -> Listener:
        made.append(Listener(*args, **kwargs))
        return made[-1]

    yield start
    for listener in made:
        listener.stop()
