"""Pure windowing of long token sequences: nothing is ever cut off.

A document longer than the model window is covered by overlapping windows of at most
``size`` tokens; consecutive windows share ``stride`` tokens. When windows overlap, a
token takes its prediction from the window where it is most central.
"""

from __future__ import annotations

from collections.abc import Sequence


def window_bounds(n_tokens: int, size: int, stride: int) -> list[tuple[int, int]]:
    """Half-open ``[start, end)`` windows covering ``range(n_tokens)``.

    Each window holds at most ``size`` tokens; consecutive windows overlap by ``stride``
    tokens (the last may overlap more, so that it is full). An empty sequence gets one
    empty window, so every document yields at least one model input.
    """
    if size < 1:
        raise ValueError(f"window size must be >= 1 (got {size})")
    if not 0 <= stride < size:
        raise ValueError(f"stride must be in [0, size) (got {stride} for size {size})")
    if n_tokens <= size:
        return [(0, n_tokens)]
    step = size - stride
    bounds: list[tuple[int, int]] = []
    start = 0
    while True:
        end = start + size
        if end >= n_tokens:
            bounds.append((max(0, n_tokens - size), n_tokens))
            break
        bounds.append((start, end))
        start += step
    return bounds


def centrality(position: int, start: int, end: int) -> int:
    """How far ``position`` is from the nearer edge of window ``[start, end)``."""
    return min(position - start, end - 1 - position)


def most_central_window(position: int, bounds: Sequence[tuple[int, int]]) -> int:
    """Index of the window in ``bounds`` where ``position`` is most central (first on ties).

    Raises ValueError when no window holds ``position``.
    """
    best, best_score = -1, -1
    for index, (start, end) in enumerate(bounds):
        if start <= position < end:
            score = centrality(position, start, end)
            if score > best_score:
                best, best_score = index, score
    if best < 0:
        raise ValueError(f"position {position} is in no window")
    return best


def assign_windows(positions: Sequence[int], bounds: Sequence[tuple[int, int]]) -> list[int]:
    """:func:`most_central_window` for many positions; ``bounds`` sorted by start."""
    import bisect

    starts = [start for start, _ in bounds]
    out: list[int] = []
    for position in positions:
        # Windows holding ``position`` are contiguous: those starting at or before it
        # whose end lies after it.
        hi = bisect.bisect_right(starts, position)
        best, best_score = -1, -1
        for index in range(hi - 1, -1, -1):
            start, end = bounds[index]
            if end <= position:
                break
            score = centrality(position, start, end)
            if score > best_score or (score == best_score and index < best):
                best, best_score = index, score
        if best < 0:
            raise ValueError(f"position {position} is in no window")
        out.append(best)
    return out
