import pytest
import torch

from sparsebox.seeding import seeded_generator, seeded_torch


def test_a_seeded_block_draws_from_its_seed_and_gives_the_callers_stream_back(monkeypatch):
    reseeded = []  # torch.manual_seed would reseed every GPU, which fork_rng does not give back
    monkeypatch.setattr(torch.cuda, "manual_seed_all", reseeded.append)
    torch.default_generator.manual_seed(7)
    with seeded_torch(3):
        inside = torch.rand(4)
    after = torch.rand(4)
    torch.default_generator.manual_seed(3)
    assert torch.equal(inside, torch.rand(4))
    torch.default_generator.manual_seed(7)
    assert torch.equal(after, torch.rand(4)) and reseeded == []


def test_a_numpy_integer_seeds_as_the_integer_it_holds():
    """A seed from np.arange or rng.integers (validated as an integer) failed in torch's
    manual_seed with a bare TypeError: UGS and GTSP training both seed through here."""
    import numpy as np

    with seeded_torch(np.int64(3)):
        a = torch.rand(4)
    with seeded_torch(3):
        b = torch.rand(4)
    assert torch.equal(a, b)
    with pytest.raises(TypeError):  # a float is no seed (int() cut 0.5 and 0.9 down to 0)
        with seeded_torch(0.5):
            pass
    with pytest.raises(TypeError):  # nor for a generator of its own
        seeded_generator(0.5)
    assert torch.equal(torch.rand(3, generator=seeded_generator(np.int64(4))),
                       torch.rand(3, generator=seeded_generator(4)))
