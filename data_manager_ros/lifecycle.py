"""One lifecycle for every class that owns threads: nothing starts in the constructor,
``start()`` starts it (and returns it), ``close()`` stops it, ``with`` does both."""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T", bound="Lifecycle")


class Lifecycle:
    def start(self: T) -> T:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: T) -> T:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
