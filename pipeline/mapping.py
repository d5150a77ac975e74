"""The ``Mapper`` seam: how the library runs one function over many units of work without knowing
who runs them. ``pipeline.cluster.client_mapper`` maps over a Dask cluster; ``local_mapper`` runs in
this process (tests, ``history verify``). Audit, ownership, balances, export and the re-derivation
take a ``Mapper`` and stay independent of Dask."""

from __future__ import annotations

from typing import Any, Callable, Sequence

Mapper = Callable[[Callable[..., Any], Sequence[Any]], list[Any]]
"""``mapper(fn, items)`` -> ``[fn(item) for item in items]``, in order, wherever it runs."""


def local_mapper(fn: Callable[..., Any], items: Sequence[Any]) -> list[Any]:
    """The seam run in this process."""
    return [fn(x) for x in items]
