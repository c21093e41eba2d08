"""The counter-based random stream every backend shares (splitmix64, one stream per walker).

Walker ``g`` (``g = query * num_walkers + walker``) starts from
``state = seed ^ ((g + 1) * WALKER_MULT)`` (mod 2^64); each draw adds ``GOLDEN`` to the state and
mixes it; a uniform double in [0, 1) is the top 53 bits times 2^-53. Results therefore depend only
on the seed and the walker's index, never on threads or blocks.
"""

MASK64 = 0xFFFFFFFFFFFFFFFF
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
WALKER_MULT = 0xD1B54A32D192ED03
TWO_POW_M53 = 1.0 / 9007199254740992.0


def initial_state(seed: int, walker: int) -> int:
    return (seed & MASK64) ^ (((walker + 1) * WALKER_MULT) & MASK64)


def next_uniform(state: int) -> tuple[int, float]:
    """Advance a splitmix64 state; return the new state and a uniform double in [0, 1)."""
    state = (state + GOLDEN) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    z ^= z >> 31
    return state, (z >> 11) * TWO_POW_M53
