"""Progress bars of the command line: tqdm on stderr (rate and ETA) when stderr is a
terminal, nothing otherwise, so a log, a pipe or ``--json`` output never holds one."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, TextIO, TypeVar

T = TypeVar("T")


def wants_bar(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default: stderr) is a terminal a bar can redraw in place."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class ProgressBar:
    """A bar of ``total`` ``unit``s, drawn only when stderr is a terminal.

    ``update_to(n)`` moves it to ``n`` done (``total=`` changes the total, e.g. when a
    training run plans its steps again); ``restart(desc)`` counts a new run from 0 (the
    heads trained after the tagger); ``write(line)`` prints a line above the bar (or
    plainly when there is none); ``wrap(items)`` counts the items as they are taken."""

    def __init__(self, *, total: int | None, desc: str, unit: str) -> None:
        self._bar: Any = None
        if wants_bar():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr,
                             dynamic_ncols=True, mininterval=0.2)

    @property
    def shown(self) -> bool:
        return self._bar is not None

    def update_to(self, n: int, *, total: int | None = None, **postfix: Any) -> None:
        if self._bar is None:
            return
        if total is not None and total != self._bar.total:
            self._bar.total = total
        if postfix:
            self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(n - self._bar.n)

    def restart(self, desc: str, *, total: int | None = None) -> None:
        """Start again from 0 under ``desc``: a new run (the rate and ETA its own)."""
        if self._bar is None:
            return
        self._bar.reset(total=total)
        self._bar.set_description(desc, refresh=False)

    def wrap(self, items: Iterable[T]) -> Iterator[T]:
        for item in items:
            yield item
            if self._bar is not None:
                self._bar.update(1)

    def write(self, line: str, *, file: TextIO | None = None) -> None:
        file = sys.stdout if file is None else file
        if self._bar is None:
            print(line, file=file, flush=True)
        else:
            self._bar.write(line, file=file)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
