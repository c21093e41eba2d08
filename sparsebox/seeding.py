"""Seeded blocks of torch code that leave the caller's random state as it was."""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Iterator
from typing import Any

__all__ = ["seeded_torch", "seeded_generator"]


@contextlib.contextmanager
def seeded_torch(seed: int) -> Iterator[None]:
    """Run the block with torch's CPU generator seeded by ``seed`` (models draw their
    initialization, dropout and Gumbel noise from it), and give the caller's state back after.

    Only the CPU generator is seeded and restored: ``torch.manual_seed`` would reseed every GPU
    too, which ``torch.random.fork_rng(devices=[])`` does not give back.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(1)
    >>> with seeded_torch(0):
    ...     inside = torch.rand(1)
    >>> after = torch.rand(1)
    >>> _ = torch.manual_seed(1)
    >>> torch.equal(after, torch.rand(1))  # the caller's stream goes on as if untouched
    True
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(operator.index(seed))  # a numpy integer too, no float
        yield


def seeded_generator(seed: int) -> Any:
    """A new CPU ``torch.Generator`` seeded by ``seed``: an integer, a numpy one too (what
    ``np.arange`` or ``rng.integers`` give); a float is refused, not cut to an integer.

    Examples
    --------
    >>> import numpy as np, torch
    >>> a = torch.rand(2, generator=seeded_generator(np.int64(3)))
    >>> torch.equal(a, torch.rand(2, generator=seeded_generator(3)))
    True
    """
    import torch

    return torch.Generator().manual_seed(operator.index(seed))
