import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsebox.exceptions import InvalidParameterError
from sparsebox.masks import (
    AugmentedLagrangianBudget,
    HardConcreteGate,
    l0_project_,
    straight_through_mask,
)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=4), st.data())
def test_l0_projection_keeps_exactly_k_largest_globally(sizes, data):
    gen = torch.Generator().manual_seed(data.draw(st.integers(0, 1000)))
    tensors = [torch.randn(n, generator=gen) for n in sizes]  # continuous: no ties
    original = torch.cat([t.clone() for t in tensors])
    k = data.draw(st.integers(0, original.numel()))
    masks = l0_project_(tensors, k=k)
    after = torch.cat(tensors)
    assert int(torch.count_nonzero(after)) == k
    assert sum(int(m.sum()) for m in masks) == k
    if 0 < k < original.numel():
        kept = original.abs()[after != 0]
        dropped = original.abs()[after == 0]
        assert kept.min() >= dropped.max()
    # kept values are unchanged
    assert torch.equal(after[after != 0], original[after != 0])


def test_l0_projection_keep_ratio_and_errors():
    a = torch.arange(1.0, 11.0)
    l0_project_([a], keep_ratio=0.3)
    assert a.tolist() == [0.0] * 7 + [8.0, 9.0, 10.0]
    with pytest.raises(ValueError, match="k must be <= 10"):
        l0_project_([a], k=11)
    with pytest.raises(ValueError, match="give exactly one of"):
        l0_project_([a])


def test_l0_projection_inside_a_training_step_keeps_count():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
    total = sum(w.numel() for w in weights)
    k = math.floor(0.2 * total + 0.5)
    for _ in range(3):
        loss = model(torch.randn(32, 8)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        l0_project_(weights, keep_ratio=0.2)
        assert sum(int(torch.count_nonzero(w)) for w in weights) == k


def test_hard_concrete_gradients_reach_log_alpha():
    gate = HardConcreteGate(5)
    gate.train()
    (gate() * torch.arange(5.0)).sum().backward()
    assert gate.log_alpha.grad is not None and gate.log_alpha.grad.abs().sum() > 0
    gate.zero_grad()
    gate.expected_l0().backward()
    assert (gate.log_alpha.grad > 0).all()


def test_hard_concrete_expected_l0_matches_monte_carlo():
    torch.manual_seed(0)
    gate = HardConcreteGate(4)
    with torch.no_grad():
        gate.log_alpha.copy_(torch.tensor([-3.0, -0.5, 0.5, 3.0]))
    gate.train()
    samples = torch.stack([gate() for _ in range(20000)])
    mc = (samples > 0).float().mean(0)
    assert torch.allclose(mc, gate.prob_nonzero().detach(), atol=0.015)
    assert abs(mc.sum() - gate.expected_l0().item()) < 0.04


def test_hard_concrete_eval_is_deterministic_and_init_keep_is_honoured():
    gate = HardConcreteGate((2, 3), init_keep=0.7)
    assert torch.allclose(gate.prob_nonzero(), torch.full((2, 3), 0.7))
    gate.eval()
    assert torch.equal(gate(), gate())
    with pytest.raises(ValueError, match=r"init_keep must be in \(0, 1\)"):
        HardConcreteGate(3, init_keep=1.0)


def test_straight_through_top_k_breaks_ties_to_the_lower_index_as_select_does():
    from sparsebox import select

    logits = torch.zeros(6)
    logits[4] = 1.0
    hard = straight_through_mask(logits, k=3).bool().numpy()
    assert hard.tolist() == select(logits.numpy(), budget=3).tolist() == [1, 1, 0, 0, 1, 0]


def test_straight_through_mask_is_hard_forward_soft_backward():
    logits = torch.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    m = straight_through_mask(logits, k=2)
    assert m.tolist() == [0.0, 1.0, 1.0]
    m.sum().backward()
    s = torch.sigmoid(logits.detach())
    assert torch.allclose(logits.grad, s * (1 - s))
    assert straight_through_mask(logits, threshold=0.0).tolist() == [0.0, 1.0, 1.0]


def test_straight_through_threshold_keeps_what_select_keeps():
    """A logit at the threshold was dropped (``>``) where ``select`` keeps a score at its
    threshold (``>=``): logits initialised to 0 with threshold 0 kept nothing."""
    from sparsebox import select

    logits = torch.tensor([0.0, 0.0, -1.0, 1.0])
    hard = straight_through_mask(logits, threshold=0.0)
    assert hard.tolist() == [1, 1, 0, 1]
    assert hard.bool().tolist() == select(logits.numpy(), threshold=0.0).tolist()


@pytest.mark.parametrize("logits, threshold", [
    (torch.tensor([0.1, 1.0, 0.0999], dtype=torch.half), 0.1),  # 0.1 is 0.09998 in half: kept
    (torch.tensor([0.1, 1.0], dtype=torch.half), 1.0001),  # rounded to 1.0: 1.0 kept
    (torch.tensor([0.1, 0.2], dtype=torch.bfloat16), 0.1001),  # 0.1 is 0.100098 in bfloat16
    (torch.tensor([16777217, 16777216]), 16777217),  # int64 compared in float32: both kept
    (torch.tensor([16777217, 16777216]), 16777216.5),
    (torch.tensor([1.0, float("inf"), -float("inf")]), 10**400),  # OverflowError
    (torch.tensor([1.0, float("inf"), -float("inf")]), -10**400),
    (torch.tensor([-float("inf"), 3.0], dtype=torch.half), -1e6),  # -inf in half: -inf kept
    (torch.tensor([3, 4], dtype=torch.int32), 10**400),
    (torch.tensor([3, 4], dtype=torch.int32), -float("inf")),
])
def test_straight_through_threshold_compares_exactly_as_select_does(logits, threshold):
    """The threshold was rounded to the logits' dtype (half-precision AMP logits below it were
    kept), int64 logits compared in float32, and an integer beyond a float raised
    OverflowError, in select too."""
    from sparsebox import select

    hard = straight_through_mask(logits, threshold=threshold)
    exact = [x >= threshold for x in (float(v) if logits.is_floating_point() else int(v)
                                      for v in logits.tolist())]
    assert hard.bool().tolist() == exact
    scores = logits.double().numpy() if logits.is_floating_point() else logits.numpy()
    assert select(scores, threshold=threshold).tolist() == exact


def test_thresholds_of_every_kind_compare_exactly_in_select_and_the_mask():
    """From the review: bool logits and a numpy longdouble threshold raised TypeError, a huge
    Fraction OverflowError; select compared int64 scores with a float threshold as float64,
    float scores with an integer rounded down, and group scores the same way."""
    from fractions import Fraction

    from sparsebox import select

    assert straight_through_mask(torch.tensor([True, False]), threshold=0.5).tolist() == [1, 0]
    assert select(np.array([True, False]), threshold=0.5).tolist() == [True, False]
    assert straight_through_mask(torch.tensor([1.0, 2.0]), threshold=np.longdouble(1.5)).tolist() \
        == [0, 1]
    huge = Fraction(10**400, 3)
    assert straight_through_mask(torch.tensor([1.0, float("inf")]), threshold=huge).tolist() == [0, 1]
    assert select(np.array([1.0, np.inf]), threshold=huge).tolist() == [False, True]
    assert select(np.array([2**54 + 3]), threshold=float(2**54 + 4)).tolist() == [False]
    assert select(np.array([2.0**53]), threshold=2**53 + 1).tolist() == [False]
    assert select(np.array([2**53, 2**53 + 2]), threshold=2**53 + 1, groups=[0, 1]).tolist() == \
        [False, True]
    assert select(np.array([1 / 3]), threshold=Fraction(1, 3)).tolist() == [False]
    with warnings.catch_warnings():  # numpy's "overflow encountered in nextafter" stepping up
        warnings.simplefilter("error")  # from float64's largest number to inf
        assert select(np.array([1.0, np.inf]), threshold=2**1024 - 2**971 + 1).tolist() == \
            [False, True]


def test_augmented_lagrangian_drives_toy_problem_under_budget():
    """Maximise sum(v_i p_i) with p = sigmoid(theta): unconstrained, every p goes to 1; the
    constraint sum(p) <= 3 must hold at the end."""
    torch.manual_seed(0)
    values = torch.linspace(1.0, 2.0, 10)
    theta = torch.zeros(10, requires_grad=True)
    opt = torch.optim.Adam([theta], lr=0.05)
    al = AugmentedLagrangianBudget(budget=3.0, rho=0.5)
    for _ in range(1500):
        p = torch.sigmoid(theta)
        loss = -(values * p).sum() + al.penalty(p.sum())
        opt.zero_grad()
        loss.backward()
        opt.step()
        al.step(torch.sigmoid(theta).sum())
    total = torch.sigmoid(theta).sum().item()
    assert total <= 3.0 + 0.05
    assert al.lam > 0  # the constraint is active
    # the budget goes to the most valuable items
    p = torch.sigmoid(theta).detach().numpy()
    assert np.argsort(p)[-3:].tolist() == [7, 8, 9]
    restored = AugmentedLagrangianBudget(1.0)
    restored.load_state_dict(al.state_dict())
    assert restored.lam == al.lam


def test_l0_projection_breaks_ties_at_the_threshold_by_position():
    a, b = torch.tensor([2.0, 1.0, 1.0]), torch.tensor([-1.0, 3.0, 1.0])
    masks = l0_project_([a, b], k=4)
    assert [m.tolist() for m in masks] == [[True, True, True], [False, True, False]]
    assert a.tolist() == [2.0, 1.0, 1.0] and b.tolist() == [0.0, 3.0, 0.0]
    zeros = torch.zeros(5)
    assert l0_project_([zeros], k=2)[0].tolist() == [True, True, False, False, False]


def test_l0_projection_agrees_with_topk_on_a_large_vector():
    gen = torch.Generator().manual_seed(3)
    w = torch.randn(100_000, generator=gen)
    expected = torch.zeros_like(w, dtype=torch.bool)
    expected[torch.topk(w.abs(), 12_345).indices] = True
    assert torch.equal(l0_project_([w.clone()], k=12_345)[0], expected)


def test_l0_projection_refuses_nan_and_ranks_bfloat16():
    t = torch.tensor([float("nan"), 1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="NaN"):
        l0_project_([t], k=2)
    assert torch.isnan(t[0]) and t[1:].tolist() == [1.0, 2.0, 3.0]  # untouched
    b = torch.tensor([0.5, -4.0, 2.0, 1.0]).bfloat16()
    assert l0_project_([b], k=2)[0].tolist() == [False, True, True, False]


@pytest.mark.parametrize("make, message", [
    (lambda: HardConcreteGate(3, beta=float("nan")), "beta must be a finite number > 0"),
    (lambda: HardConcreteGate(3, beta=float("inf")), "beta must be a finite number > 0"),
    (lambda: HardConcreteGate(3, gamma=-float("inf")), "gamma must be a finite number < 0"),
    (lambda: HardConcreteGate(3, zeta=float("inf")), "zeta must be a finite number > 1"),
    (lambda: HardConcreteGate(-1), "shape must be >= 0"),
    (lambda: AugmentedLagrangianBudget(float("nan")), "budget must be a finite number >= 0"),
    (lambda: AugmentedLagrangianBudget(1.0, rho=float("inf")), "rho must be a finite number > 0"),
    (lambda: AugmentedLagrangianBudget(1.0, lam=-1.0), "lam must be a finite number >= 0"),
    (lambda: AugmentedLagrangianBudget(5.0, lam=2.0).step(float("nan")), "total must be a finite"),
    (lambda: straight_through_mask(torch.zeros(3), threshold=float("nan")), "threshold must be a "
                                                                              r"number \(not NaN\)"),
])
def test_gate_and_budget_settings_must_be_finite(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_gate_stretched_past_float32_is_refused_by_its_settings():
    """gamma -1e300 gave NaN gates in training and evaluation (and an expected L0 of 2.7), beta
    1e300 torch's "value cannot be converted to type float without overflow"."""
    from sparsebox.exceptions import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=r"gamma -1e\+300 and zeta 1.1 stretch the "
                                                    r"gate past float32"):
        HardConcreteGate(3, gamma=-1e300)
    with pytest.raises(InvalidParameterError, match=r"beta 1e\+300 puts the first log_alpha"):
        HardConcreteGate(3, beta=1e300)
    assert torch.isfinite(HardConcreteGate(3, gamma=-1e30, zeta=1e30).eval()()).all()


def test_a_gamma_too_close_to_zero_for_float32_is_refused():
    """gamma -1e-320 with zeta 3 gave Python's "math domain error" (-gamma / zeta underflowed to
    0); one that float32 reads as 0 is no stretch at all."""
    from sparsebox.exceptions import InvalidParameterError

    for gamma in (-5e-324, -1e-320, -1e-39, -1.19e-38):
        with pytest.raises(InvalidParameterError, match="gamma .* too close to 0 for the gate's "
                                                        "float32: it must be at most -1.2e-38"):
            HardConcreteGate(3, gamma=gamma, zeta=3.0)
    with pytest.raises(InvalidParameterError, match="stretch the gate past float32"):
        HardConcreteGate(3, gamma=-1.2e-38, zeta=1e300)  # (-gamma / zeta underflowed first)
    assert HardConcreteGate(3, gamma=-1.2e-38).expected_l0().item() == pytest.approx(3 * 0.9)


def test_a_gate_s_shape_may_be_a_numpy_integer():
    assert HardConcreteGate(np.int64(3))().shape == (3,)
    assert HardConcreteGate((np.int64(2), 3))().shape == (2, 3)


def test_a_gate_s_shape_that_is_not_an_integer_is_named():
    for bad in (2.0, None):  # a bare "'float' object is not iterable" before
        with pytest.raises(ValueError, match=f"shape must be an integer, got {bad!r}"):
            HardConcreteGate(bad)
    for scalar in (torch.tensor(3), np.array(3)):  # 0-d: "iteration over a 0-d tensor" before
        assert HardConcreteGate(scalar).log_alpha.shape == (3,)
    with pytest.raises(ValueError, match="shape must be an integer, got 2.5"):
        HardConcreteGate(torch.tensor(2.5))


def test_settings_may_be_zero_dimensional_tensors():
    logits = torch.tensor([-1.0, 0.5, 2.0])
    assert straight_through_mask(logits, threshold=logits.quantile(0.5)).tolist() == [0, 1, 1]
    assert AugmentedLagrangianBudget(torch.tensor(2.0)).budget == 2.0
    assert AugmentedLagrangianBudget(np.array(2.0), rho=np.float32(0.5)).rho == 0.5
    # init_keep alone was refused: "init_keep must be a number in (0, 1), got tensor(0.5000)"
    gate = HardConcreteGate(3, init_keep=torch.tensor(0.5), beta=torch.tensor(0.5))
    assert torch.allclose(gate.prob_nonzero(), torch.full((3,), 0.5))
    with pytest.raises(InvalidParameterError, match=r"init_keep must be in \(0, 1\), got 1.0"):
        HardConcreteGate(3, init_keep=np.array(1.0))


def test_l0_projection_errors_are_invalid_parameter_errors():
    with pytest.raises(InvalidParameterError, match="tensors must hold at least one tensor"):
        l0_project_([], k=0)
    with pytest.raises(InvalidParameterError, match="tensors hold NaN"):
        l0_project_([torch.tensor([float("nan"), 1.0])], k=1)


def test_the_budget_takes_one_total_not_the_gates():
    # the gates themselves were penalised one by one against the whole budget (no error, a vector
    # to sum into a meaningless loss), and step() failed with an error that named nothing
    al = AugmentedLagrangianBudget(3.0, lam=1.0)
    gates = HardConcreteGate(4).prob_nonzero()
    for call in (al.penalty, al.step):
        with pytest.raises(InvalidParameterError, match=r"total must be one number.*shape \(4,\)"):
            call(gates)
    assert al.lam == 1.0
    total = gates.sum()
    assert torch.allclose(al.penalty(total), al.penalty(total.detach().item()))
    assert al.penalty(5.0).item() == 4.0  # a plain number: the value, without a gradient
    assert al.step(np.array([5.0])) == 3.0


def test_l0_projection_takes_a_sequence_of_tensors_not_one_tensor():
    # a bare tensor was split into its rows: projected, but the masks came back one per row
    w = torch.tensor([[3.0, -1.0], [0.5, 2.0]])
    with pytest.raises(InvalidParameterError, match=r"one tensor of shape \(2, 2\): put it in a list"):
        l0_project_(w, k=2)
    assert w.tolist() == [[3.0, -1.0], [0.5, 2.0]]  # untouched
    with pytest.raises(InvalidParameterError, match="tensors must hold torch tensors, got list at "
                                                    "position 1"):
        l0_project_([w, [1.0, 2.0]], k=2)  # an AttributeError before
    assert [m.tolist() for m in l0_project_([w], k=2)] == [[[True, False], [False, True]]]


def test_sizes_may_be_zero_dimensional_as_in_select():
    # select and resolve_budget read a 0-d array or tensor as its number; these refused them
    a = torch.arange(1.0, 11.0)
    assert int(l0_project_([a.clone()], keep_ratio=torch.tensor(0.3))[0].sum()) == 3
    assert int(l0_project_([a.clone()], keep_ratio=np.array(0.3))[0].sum()) == 3
    assert int(l0_project_([a.clone()], k=(a > 8).sum())[0].sum()) == 2
    assert straight_through_mask(a, k=torch.tensor(2)).tolist() == [0.0] * 8 + [1.0, 1.0]
    with pytest.raises(InvalidParameterError, match=r"keep_ratio must be in \(0, 1\], got 0"):
        l0_project_([a], keep_ratio=0)


def test_straight_through_passes_nan_on_rather_than_hiding_it():
    # a decision, not an accident: NaN in, NaN out (forward and backward), so the loss shows it
    logits = torch.tensor([float("nan"), 1.0, -1.0, 2.0], requires_grad=True)
    by_threshold = straight_through_mask(logits, threshold=0.0)
    assert torch.isnan(by_threshold[0]) and by_threshold[1:].tolist() == [1.0, 0.0, 1.0]
    by_rank = straight_through_mask(logits, k=2)  # NaN ranks first, as in torch.sort
    assert torch.isnan(by_rank[0]) and by_rank[1:].tolist() == [0.0, 0.0, 1.0]
    by_threshold.sum().backward()
    assert torch.isnan(logits.grad[0]) and torch.isfinite(logits.grad[1:]).all()


def test_the_penalty_of_a_nan_total_is_nan():
    # it was -lam^2 / (2 rho), a finite loss term, for a diverged total
    al = AugmentedLagrangianBudget(3.0, rho=1.0, lam=1.0)
    assert torch.isnan(al.penalty(torch.tensor(float("nan"))))
    assert al.penalty(torch.tensor(1.0)).item() == -0.5  # inactive: -lam^2 / (2 rho)
    with pytest.raises(InvalidParameterError, match="total must be a finite number"):
        al.penalty(float("nan"))


def test_the_penalty_takes_a_one_entry_array_as_step_does():
    # step took np.array([5.0]); penalty said "total must be a finite number, got array([5.])"
    al = AugmentedLagrangianBudget(3.0, rho=1.0, lam=1.0)
    assert al.penalty(np.array([5.0])).item() == al.penalty(5.0).item() == 4.0


def _with_log_alpha(gate, log_alpha, fn):
    """``fn(gate)`` with ``log_alpha`` in place of the gate's parameter (for gradcheck)."""
    saved = gate.log_alpha
    del gate.log_alpha
    gate.log_alpha = log_alpha
    try:
        return fn(gate)
    finally:
        del gate.log_alpha
        gate.log_alpha = saved


def _seeded(gate):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return gate()


@pytest.mark.parametrize("train", [True, False])
def test_hard_concrete_gradients_match_finite_differences(train):
    gate = HardConcreteGate(6, beta=0.5).double().train(train)
    log_alpha = torch.tensor([-3.0, -0.5, 0.3, 1.0, 2.0, 4.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda la: _with_log_alpha(gate, la, _seeded), (log_alpha,))
    assert torch.autograd.gradcheck(lambda la: _with_log_alpha(gate, la, HardConcreteGate.prob_nonzero),
                                    (log_alpha,))
    # P(z != 0) is 1 - Q(s <= -gamma / (zeta - gamma)), the CDF of Louizos et al.'s eq. 9 stretched
    t = -gate.gamma / (gate.zeta - gate.gamma)
    cdf = torch.sigmoid(math.log(t / (1 - t)) * gate.beta - log_alpha)
    assert torch.allclose(_with_log_alpha(gate, log_alpha, HardConcreteGate.prob_nonzero), 1 - cdf)


def test_augmented_lagrangian_penalty_gradient_and_continuity():
    al = AugmentedLagrangianBudget(2.0, rho=0.7, lam=0.5)
    for value in (0.5, 1.5, 2.5, 4.0):  # inactive, active below the budget, above it
        total = torch.tensor(value, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(al.penalty, (total,))
    edge = 2.0 - 0.5 / 0.7  # lam + rho g = 0: both branches meet at -lam^2 / (2 rho)
    below, above = (al.penalty(torch.tensor(edge + e, dtype=torch.float64)).item() for e in (-1e-9, 1e-9))
    assert below == pytest.approx(above, abs=1e-9) and below == pytest.approx(-0.25 / 1.4)


def test_the_median_eval_gate_is_the_sample_at_one_half_and_opens_past_probability_one_half():
    gate = HardConcreteGate(7, beta=0.3, gamma=-0.5, zeta=1.01, eval_gate="median")
    with torch.no_grad():
        gate.log_alpha.copy_(torch.linspace(-1.0, 2.0, 7))
    gate.eval()
    z = gate()
    at_half = (torch.sigmoid(gate.log_alpha / 0.3) * 1.51 - 0.5).clamp(0, 1)
    assert torch.allclose(z, at_half)
    assert ((z > 0) == (gate.prob_nonzero() > 0.5)).all()
    louizos = HardConcreteGate(7, beta=0.3, gamma=-0.5, zeta=1.01)
    with torch.no_grad():
        louizos.log_alpha.copy_(gate.log_alpha)
    louizos.eval()
    # the paper's estimate opens from P(z != 0) = 0.38 on: gates the median keeps shut
    opens = (louizos() > 0) & ~(z > 0)
    assert opens.any() and (louizos.prob_nonzero()[opens] > 0.37).all()
    with pytest.raises(InvalidParameterError, match="eval_gate must be one of"):
        HardConcreteGate(3, eval_gate="mean")


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64])
def test_l0_projection_ranks_large_integers_exactly(dtype):
    """The threshold was a Python float, so integer tensors were compared in float32: of
    16777216 and 16777217 (equal there) the first, smaller one was kept."""
    w = torch.tensor([16777216, 16777217, 3], dtype=dtype)
    masks = l0_project_([w], k=1)
    assert masks[0].tolist() == [False, True, False] and w.tolist() == [0, 16777217, 0]
    w = torch.tensor([-(2**30 + 1), 2**30, 2**30 + 2, 5], dtype=dtype)
    l0_project_([w], k=2)
    assert w.tolist() == [-(2**30 + 1), 0, 2**30 + 2, 0]


def test_l0_projection_ranks_tensors_of_several_dtypes_exactly():
    """They were ranked in their promoted type: int 70000 and 80000 with a float16 tensor both
    became float16's inf, and the first was kept; int32 2**24 + 1 with a float32 one became
    2**24, tied with it."""
    a, b = torch.tensor([70000, 80000]), torch.tensor([0.5], dtype=torch.float16)
    l0_project_([a, b], k=1)
    assert a.tolist() == [0, 80000] and b.tolist() == [0.0]
    a, b = torch.tensor([16777216, 16777217], dtype=torch.int32), torch.tensor([0.5])
    l0_project_([a, b], k=1)
    assert a.tolist() == [0, 16777217]


@pytest.mark.parametrize("dtype", [torch.int8, torch.int16, torch.int32, torch.int64])
def test_l0_projection_ranks_the_least_integer_by_its_magnitude(dtype):
    """The magnitude of int8's -128 is -128 in int8 (abs overflows), so the entry of the largest
    magnitude was ranked last and zeroed; the same for int16 and int32, alone or with another."""
    least = torch.iinfo(dtype).min
    w = torch.tensor([5, least, 3, -100], dtype=dtype)
    assert l0_project_([w], k=2)[0].tolist() == [False, True, False, True]
    assert w.tolist() == [0, least, 0, -100]
    w, other = torch.tensor([least, 1], dtype=dtype), torch.tensor([2], dtype=torch.uint8)
    l0_project_([w, other], k=1)
    assert w.tolist() == [least, 0] and other.tolist() == [0]


def test_l0_projection_of_a_bool_tensor_keeps_k_of_its_true_entries():
    """abs() of a bool tensor raised torch's NotImplementedError."""
    w = torch.tensor([False, True, True, False, True])
    assert l0_project_([w], k=2)[0].tolist() == [False, True, True, False, False]
    assert w.tolist() == [False, True, True, False, False]


def test_augmented_lagrangian_state_is_checked_when_loaded():
    """A state without ``rho`` raised a bare ``KeyError: 'rho'``, and a rho of 0 was taken (the
    penalty then divides by zero); a bad state now loads nothing."""
    al = AugmentedLagrangianBudget(2.0, rho=0.5, lam=1.5)
    twin = AugmentedLagrangianBudget(1.0)
    twin.load_state_dict(al.state_dict())
    assert twin.state_dict() == al.state_dict()
    with pytest.raises(InvalidParameterError, match=r"state lacks \['lam', 'rho'\]"):
        twin.load_state_dict({"budget": 3.0})
    for key, bad, message in (("rho", 0.0, "rho must be a finite number > 0, got 0.0"),
                              ("lam", -1.0, "lam must be a finite number >= 0, got -1.0"),
                              ("budget", math.nan, "budget must be a finite number >= 0, got nan")):
        with pytest.raises(InvalidParameterError, match=message):
            twin.load_state_dict({**al.state_dict(), key: bad})
        assert twin.state_dict() == al.state_dict()


@pytest.mark.parametrize("eval_gate", ["median", "louizos"])
def test_an_eval_gate_at_its_edge_is_shut(eval_gate):
    """At P(z != 0) = 1/2 exactly (init_keep 0.5) the median gate was 1.5e-8, not 0, with the
    paper's beta 2/3 and interval (-0.1, 1.1): every gate counted open, where the median opens
    only past 1/2. The same at the Louizos estimate's edge, log_alpha = log(-gamma / zeta)."""
    gate = HardConcreteGate(3, init_keep=0.5, eval_gate=eval_gate).eval()
    if eval_gate == "louizos":
        with torch.no_grad():
            gate.log_alpha.fill_(math.log(-gate.gamma / gate.zeta))
    else:
        assert gate.prob_nonzero().tolist() == [0.5] * 3
    shut = gate()
    assert shut.tolist() == [0.0] * 3
    shut.sum().backward()  # shut at the edge, but a deterministic gate trained there can open
    assert (gate.log_alpha.grad > 0).all()
    with torch.no_grad():
        gate.log_alpha.add_(torch.tensor([-1.0, 0.0, 1.0]))
    assert (gate() > 0).tolist() == [False, False, True]


def test_l0_projection_rounds_a_keep_ratio_for_the_number_as_written():
    # 0.58 * 25 is 14.499999999999998 in floats: 14 entries were kept where 0.58 of 25 is 14.5
    w = torch.arange(1.0, 26.0)
    assert sum(int(m.sum()) for m in l0_project_([w], keep_ratio=0.58)) == 15
    assert int(torch.count_nonzero(w)) == 15


def test_the_penalty_of_a_plain_total_too_large_for_the_default_dtype_is_refused():
    # a plain 1e20 gave tensor(inf) (its square overflows float32), a plain 1e40 tensor(nan)
    al = AugmentedLagrangianBudget(1.0)
    refused = r"^total 1e\+[24]0 makes a penalty of .*, more than torch.float32 \(torch's default dtype\)"
    for total in (1e20, np.float64(1e20), np.array([1e20]), 1e40):
        with pytest.raises(InvalidParameterError, match=refused):
            al.penalty(total)
    assert al.penalty(1e18).item() == pytest.approx(5e35, rel=1e-6)  # it fits: as before
    assert al.penalty(torch.tensor(1e20, dtype=torch.float64)).item() == pytest.approx(5e39)
    assert torch.isinf(al.penalty(torch.tensor(1e20)))  # a tensor is worked out as torch does
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        penalty = al.penalty(1e20)
    finally:
        torch.set_default_dtype(previous)
    assert penalty.dtype == torch.float64 and penalty.item() == pytest.approx(5e39)


def test_an_inactive_penalty_too_large_for_the_dtype_is_minus_inf_not_a_crash():
    # torch.full_like(g, -lam**2 / (2 rho)) raised "value cannot be converted to type float
    # without overflow", at once, however the constraint stood
    al = AugmentedLagrangianBudget(1e21, lam=1e20)
    assert al.penalty(torch.tensor(0.0)).item() == -math.inf
    assert al.penalty(torch.tensor(0.0, dtype=torch.float64)).item() == pytest.approx(-5e39)
    assert al.penalty(torch.tensor(1e21)).item() == 0.0  # active (g = 0): no crash either
    assert AugmentedLagrangianBudget(1e21, lam=1e200, rho=1e300).penalty(
        torch.tensor(0.0, dtype=torch.float64)).item() == pytest.approx(-5e99)  # lam**2 overflowed


def test_a_number_beyond_a_float_is_refused_by_name():
    # AugmentedLagrangianBudget(10**400) and step(10**400) raised OverflowError
    for call, name in ((lambda: AugmentedLagrangianBudget(10**400), "budget"),
                       (lambda: AugmentedLagrangianBudget(1.0, rho=10**400), "rho"),
                       (lambda: AugmentedLagrangianBudget(1.0).step(10**400), "total"),
                       (lambda: AugmentedLagrangianBudget(1.0).penalty(10**400), "total"),
                       (lambda: HardConcreteGate(3, init_keep=10**400), "init_keep")):
        with pytest.raises(InvalidParameterError, match=f"^{name} must be "):
            call()


def test_l0_projection_refuses_a_tensor_listed_twice_and_takes_disjoint_views():
    # a tied weight listed twice was ranked twice, then zeroed by the other copy's mask: k=1 of
    # [1, 5] kept nothing at all
    embed = torch.nn.Embedding(2, 2)
    head = torch.nn.Linear(2, 2, bias=False)
    head.weight = embed.weight
    before = embed.weight.detach().clone()
    with pytest.raises(InvalidParameterError, match=r"tensors\[1\] shares entries with tensors\[0\]"):
        l0_project_([embed.weight, head.weight], k=1)
    assert torch.equal(embed.weight.detach(), before)  # refused before anything is zeroed
    w = torch.arange(1.0, 7.0).reshape(2, 3)
    with pytest.raises(InvalidParameterError, match="shares entries"):
        l0_project_([w, w.view(2, 3)], k=2)
    # views that share some entries only, or with other shapes and strides, were ranked twice
    for views in ([w, w.t()], [w.view(-1)[:4], w.view(-1)[2:]], [w[:, 2], w[1]]):
        with pytest.raises(InvalidParameterError, match=r"tensors\[1\] shares entries with "
                                                        r"tensors\[0\]"):
            l0_project_(views, k=2)
    assert w.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    big = torch.arange(1.0, 1 + 4_000_000)  # sparse views across a large storage: by address
    for views, shared in (([big[::1_000_000], big[500_000::1_000_000]], False),
                          ([big[::1_000_000], big[::2_000_000]], True)):
        if shared:
            with pytest.raises(InvalidParameterError, match="shares entries"):
                l0_project_(views, k=1)
        else:
            assert sum(int(m.sum()) for m in l0_project_(views, k=1)) == 1
    masks = l0_project_([w[:, :1], w[:, 1:]], k=2)  # interleaved in memory, no entry shared
    assert w.tolist() == [[0.0, 0.0, 0.0], [0.0, 5.0, 6.0]]
    assert sum(int(m.sum()) for m in masks) == 2


def test_straight_through_mask_names_logits_that_are_not_a_tensor():
    with pytest.raises(InvalidParameterError, match="logits must be a torch tensor, got ndarray"):
        straight_through_mask(np.array([0.5, 2.0]), k=1)


def test_l0_project_refuses_a_tensor_that_holds_one_entry_in_several_places():
    """An expand()ed tensor (stride 0) kept none of its values, though its mask said one: the
    entry was ranked as several, then zeroed by the others' masks."""
    from sparsebox.exceptions import InvalidParameterError

    for view in (torch.tensor([1.0, 2.0]).expand(3, 2),
                 torch.arange(4.0).as_strided((3, 2), (1, 1))):
        before = view.clone()
        with pytest.raises(InvalidParameterError, match=r"tensors\[0\] holds one entry in several "
                                                        r"places .*\.contiguous\(\)"):
            l0_project_([view], k=1)
        assert torch.equal(view, before)  # untouched
    t = torch.arange(6.0).reshape(2, 3).t()  # a transpose is no overlap: projected as before
    (mask,) = l0_project_([t], k=2)
    assert mask.sum() == 2 and t.tolist() == [[0.0, 0.0], [0.0, 4.0], [0.0, 5.0]]


def test_straight_through_mask_takes_the_thresholds_select_takes_and_refuses_complex_logits():
    """threshold=inf was refused ("must be a finite number") where select keeps the scores at
    or above it (none; -inf: all); complex logits with k were torch's "Sort does not support
    complex dtypes"."""
    from sparsebox import select

    logits = torch.tensor([-1.0, 0.0, float("inf")])
    for threshold in (float("inf"), -float("inf"), torch.tensor(float("inf"))):
        expected = select(logits.numpy(), threshold=float(threshold)).astype(float).tolist()
        assert straight_through_mask(logits, threshold=threshold).tolist() == expected
    for kwargs in ({"k": 1}, {"threshold": 0.0}):
        with pytest.raises(InvalidParameterError, match="logits must be real numbers, got dtype "
                                                        "torch.complex64"):
            straight_through_mask(torch.zeros(3, dtype=torch.complex64), **kwargs)
