import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsebox import as_structure, budget_from_keep_ratio, resolve_budget, select
from sparsebox.exceptions import InvalidParameterError
from sparsebox.select import check_size_floor

scores_st = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60)


def test_budget_exact_and_ties_go_to_lower_index():
    assert select([1.0, 1.0, 1.0, 0.0], budget=2).tolist() == [True, True, False, False]
    assert select([0.0, 1.0, 1.0, 1.0], budget=1).tolist() == [False, True, False, False]


def test_keep_ratio_rounds_half_up():
    assert budget_from_keep_ratio(0.5, 5) == 3
    assert budget_from_keep_ratio(0.95, 100) == 95
    assert select(np.arange(10.0), keep_ratio=0.3).tolist() == [False] * 7 + [True] * 3


def test_threshold_and_quantile():
    s = np.array([0.1, 0.5, 0.9, 0.5])
    assert select(s, threshold=0.5).tolist() == [False, True, True, True]
    assert select(s, quantile=0.75).tolist() == [False, False, True, False]
    assert select(s, threshold=np.float32(0.5)).sum() == 3
    assert select(s, threshold=np.inf).sum() == 0 and select(s, threshold=-np.inf).all()
    for bad in ("1", float("nan"), True):  # '1' kept both items, NaN none, silently
        with pytest.raises(InvalidParameterError, match="threshold must be a number"):
            select(s, threshold=bad)


def test_quantile_of_integer_scores_is_exact():
    """Integer scores past 2^53 (nanosecond timestamps) were interpolated in float64, which
    merged them: quantile 1.0 of three distinct ones kept all three. Small ones agree with
    numpy's linear quantile."""
    t = np.array([1_700_000_000_000_000_001, 1_700_000_000_000_000_002, 1_700_000_000_000_000_003])
    assert select(t, quantile=0.5).tolist() == [False, True, True]
    assert select(t, quantile=1.0).tolist() == [False, False, True]
    assert select(np.array([2**64 - 2, 2**64 - 1], dtype=np.uint64), quantile=0.9).tolist() == [
        False, True]
    rng = np.random.default_rng(0)
    for _ in range(500):
        scores, q = rng.integers(-50, 50, rng.integers(1, 12)), float(rng.random())
        assert np.array_equal(select(scores, quantile=q), scores >= np.quantile(scores, q))
    # the position q * (n - 1) as written: 0.28 * 25 is 7.000000000000001 in floats, which put
    # numpy's cut past the eighth of 0..25 (18 kept) and not of 1000..1025 (19 kept), and whose
    # exact ceiling kept 18 of 1000..1025; integers and floats now agree, at 19
    for n, q in ((26, 0.28), (51, 0.14), (51, 0.28), (51, 0.56)):
        counts = {int(select(s, quantile=q).sum()) for s in (np.arange(n), np.arange(n) + 1000,
                                                             np.arange(n) + 1000.0, np.arange(n) + 0.0)}
        assert counts == {round(n - q * (n - 1))}, (n, q, counts)


def test_quantile_of_scores_with_infinities():
    # methods score the items they always keep inf (tree edges, self-loops): numpy's linear
    # quantile is NaN between two infinities (inf - inf), which kept nothing
    inf = np.inf
    assert select([1.0, inf, inf], quantile=0.5).tolist() == [False, True, True]
    assert select([-inf, -inf, 1.0], quantile=0.3).all()  # the quantile is -inf
    assert select([-inf, 1.0, 2.0], quantile=0.2).all()  # between -inf and 1: -inf
    assert select([1.0, 2.0, inf], quantile=0.9).tolist() == [False, False, True]
    assert select([-inf, inf], quantile=0.5).tolist() == [False, True]
    assert select([-inf, 1.0, 2.0], quantile=0.6).tolist() == [False, False, True]  # finite as before
    assert select([1.0, inf], quantile=0.0).all()  # the least score (numpy: 1 + 0 * inf, NaN)


def test_groups_are_kept_together_with_mean_score():
    s = np.array([1.0, 9.0, 4.0, 4.0, 0.0, 0.0])
    g = np.array([7, 7, 3, 3, 5, 5])
    # group means: 7 -> 5, 3 -> 4, 5 -> 0
    assert select(s, budget=1, groups=g).tolist() == [True, True, False, False, False, False]
    assert select(s, budget=2, groups=g).tolist() == [True, True, True, True, False, False]


def test_protected_count_toward_budget():
    s = np.array([5.0, 4.0, 3.0, 2.0])
    prot = np.array([False, False, False, True])
    assert select(s, budget=2, protected=prot).tolist() == [True, False, False, True]
    with pytest.raises(ValueError, match="smaller than the 1 protected"):
        select(s, budget=0, protected=prot)
    assert select(s, threshold=10.0, protected=prot).tolist() == [False, False, False, True]


def test_edge_scores_through_structure_views():
    """Per-item scores select undirected edges; per-entry scores with groups=entry_ids agree."""
    s = as_structure(np.array([[0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 0, 2]]))
    item_scores = np.array([3.0, 1.0, 2.0])
    by_item = select(item_scores, budget=2)
    entry_scores = item_scores[s.entry_item]
    by_entry = select(entry_scores, budget=2, groups=s.entry_ids)
    kept_ids = set(s.entry_ids[by_entry].tolist())
    assert kept_ids == set(s.ids[by_item].tolist())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(keep_ratio=1.5), r"keep_ratio must be in \(0, 1\], got 1.5"),
        (dict(keep_ratio=0.0), r"keep_ratio must be in \(0, 1\]"),
        (dict(budget=9), "budget must be <= 3"),
        (dict(budget=-1), "budget must be >= 0"),
        (dict(budget=1.5), "budget must be an integer"),
        (dict(quantile=2.0), r"quantile must be in \[0, 1\]"),
        (dict(), "give exactly one of"),
        (dict(budget=1, keep_ratio=0.5), "give exactly one of"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        select([1.0, 2.0, 3.0], **kwargs)


def test_nan_scores_rejected():
    with pytest.raises(ValueError, match="NaN"):
        select([1.0, np.nan], budget=1)


@settings(max_examples=100, deadline=None)
@given(scores_st, st.data())
def test_budget_is_met_exactly_and_kept_dominate_dropped(scores, data):
    s = np.array(scores)
    k = data.draw(st.integers(0, s.size))
    keep = select(s, budget=k)
    assert keep.sum() == k
    if 0 < k < s.size:
        assert s[keep].min() >= s[~keep].max()


@settings(max_examples=100, deadline=None)
@given(scores_st, st.data())
def test_groups_stay_together_and_budget_counts_groups(scores, data):
    s = np.array(scores)
    groups = np.array(data.draw(st.lists(st.integers(0, 5), min_size=s.size, max_size=s.size)))
    ratio = data.draw(st.floats(0.01, 1.0))
    keep = select(s, keep_ratio=ratio, groups=groups)
    labels = np.unique(groups)
    for g in labels:
        assert len(set(keep[groups == g].tolist())) == 1
    assert len(np.unique(groups[keep])) == budget_from_keep_ratio(ratio, labels.size)


@settings(max_examples=100, deadline=None)
@given(scores_st, st.data())
def test_protected_always_kept(scores, data):
    s = np.array(scores)
    prot = np.array(data.draw(st.lists(st.booleans(), min_size=s.size, max_size=s.size)))
    k = data.draw(st.integers(int(prot.sum()), s.size))
    keep = select(s, budget=k, protected=prot)
    assert keep.sum() == k and keep[prot].all()


def test_resolve_budget_counts_and_errors():
    from sparsebox import resolve_budget

    assert resolve_budget(7, keep_ratio=0.5) == 4 and resolve_budget(7, budget=7) == 7
    with pytest.raises(ValueError, match="give exactly one of keep_ratio, budget"):
        resolve_budget(7)
    with pytest.raises(ValueError, match="budget must be <= 7"):
        resolve_budget(7, budget=8)
    # a density too large for floats once multiplied by the node count keeps every item
    assert resolve_budget(7, density=1e308, num_nodes=10) == 7
    assert resolve_budget(7, density=10**400, num_nodes=10) == 7
    assert resolve_budget(7, density=2.0, num_nodes=10**400) == 7
    assert resolve_budget(70, density=1.1, num_nodes=20) == 22
    from fractions import Fraction

    with pytest.raises(ValueError, match="keep_ratio 0.1 is below"):  # a Fraction is formatted
        check_size_floor(1, 3, 10, what="the tree", keep_ratio=Fraction(1, 10))


def test_scores_that_carry_a_gradient_are_read_detached():
    import torch

    scores = torch.tensor([1.0, 3.0, 2.0], requires_grad=True)
    assert select(scores, budget=2).tolist() == [False, True, True]


@pytest.mark.parametrize("call, message", [
    (lambda: resolve_budget(10, density=1.0, num_nodes=-3), "num_nodes must be >= 0, got -3"),
    (lambda: resolve_budget(-2, budget=1), "num_items must be >= 0, got -2"),
    (lambda: budget_from_keep_ratio(0.5, -4), "num_items must be >= 0, got -4")])
def test_negative_counts_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bfloat16_scores_are_ranked():
    import torch

    assert select(torch.tensor([1.0, 3.0, 2.0]).bfloat16(), budget=2).tolist() == [False, True, True]


def test_a_group_mixing_inf_and_minus_inf_is_refused():
    # its mean is NaN: quantile then kept no unit at all (even quantile=0), budget ranked it last
    scores, groups = [np.inf, -np.inf, 1.0, 2.0, 3.0, 3.0], [4, 4, 1, 1, 2, 2]
    for option in ({"quantile": 0.0}, {"quantile": 0.5}, {"budget": 1}, {"threshold": 0.0}):
        with pytest.raises(InvalidParameterError, match="scores of group 4 hold both inf and -inf"):
            select(scores, groups=groups, **option)
    assert select([np.inf, np.inf, 1.0, 2.0], quantile=0.5, groups=[0, 0, 1, 1]).tolist() == [
        True, True, False, False]  # a group of infinities of one sign is its infinity


def test_a_keep_ratio_below_the_protected_count_is_named_as_given():
    # was "budget 1 is smaller than ...", a budget the caller never gave
    with pytest.raises(InvalidParameterError,
                       match=r"^keep_ratio 0.3 keeps 1 of the 3 items, fewer than the 2 protected"):
        select([1.0, 2.0, 3.0], keep_ratio=0.3, protected=[True, True, False])
    # groups are counted as groups, and a keep ratio that is a Fraction still reads
    with pytest.raises(ValueError, match=r"^keep_ratio 0.3 keeps 1 of the 3 groups, fewer than "
                                         r"the 2 protected groups"):
        select([1.0, 2.0, 3.0, 4.0], keep_ratio=0.3, protected=[True, True, True, False],
               groups=[0, 0, 1, 2])
    from fractions import Fraction

    assert select([1.0, 2.0], keep_ratio=Fraction(1, 2)).tolist() == [False, True]


def test_a_0d_tensor_or_array_reads_as_the_number_it_holds():
    import torch

    # select(scores, threshold=scores.mean()) was refused: "threshold must be a number, got tensor(2.5)"
    scores = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    assert select(scores, threshold=scores.mean()).tolist() == [False, False, True, True]
    assert select(scores, threshold=np.array(2.5)).tolist() == [False, False, True, True]
    assert select(scores, keep_ratio=torch.tensor(0.5)).sum() == 2
    assert select(scores, budget=torch.tensor(3)).sum() == 3
    assert select(scores, budget=np.array(1)).sum() == 1
    assert select(scores, quantile=torch.tensor(0.5)).sum() == 2
    assert budget_from_keep_ratio(np.array(0.5), 5) == 3
    assert resolve_budget(8, density=torch.tensor(0.5), num_nodes=4) == 2
    # what the number is still has to be right: an integer budget, one number, not NaN
    with pytest.raises(InvalidParameterError, match="budget must be an integer, got 2.0"):
        select(scores, budget=torch.tensor(2.0))
    with pytest.raises(InvalidParameterError, match="keep_ratio must be a number"):
        select(scores, keep_ratio=torch.tensor([0.5]))
    with pytest.raises(InvalidParameterError, match="threshold must be a number"):
        select(scores, threshold=torch.tensor(float("nan")))


def test_group_labels_that_do_not_sort_together_are_refused_by_name():
    # None among integers: numpy's own TypeError ("'<' not supported ...") came through
    with pytest.raises(InvalidParameterError, match="groups must hold labels that sort together"):
        select([1.0, 2.0, 3.0], budget=1, groups=[None, 1, 1])


def test_a_density_beyond_a_float_is_named_as_not_finite_and_shortened():
    from sparsebox._validation import validate_params
    from sparsebox.base import SIZING_CONSTRAINTS

    with pytest.raises(InvalidParameterError) as err:
        validate_params({"density": 10**400}, SIZING_CONSTRAINTS)
    message = str(err.value)
    assert message.startswith("density must be a finite number > 0, got 1000")
    assert message.endswith("... (401 characters)")


def test_a_density_may_be_a_fraction_as_a_keep_ratio_may():
    from fractions import Fraction

    # keep_ratio took a Fraction and density refused one: "density must be a finite number > 0,
    # got Fraction(1, 2)"
    assert resolve_budget(10, density=Fraction(1, 2), num_nodes=10) == 5
    assert resolve_budget(10, density=Fraction(10**400, 3), num_nodes=10) == 10  # beyond a float
    for bad in (Fraction(0), Fraction(-1, 2), True, float("inf")):
        with pytest.raises(InvalidParameterError, match="density must be a finite number > 0"):
            resolve_budget(10, density=bad, num_nodes=10)


def test_complex_scores_are_refused_rather_than_ranked_by_their_real_parts():
    # numpy's cast kept [False, True] for [1 + 5j, 2] with a ComplexWarning (as_structure refuses
    # complex weights the same way)
    import torch

    for scores in (np.array([1 + 5j, 2]), torch.tensor([1 + 5j, 2])):
        with pytest.raises(InvalidParameterError, match="scores must be real numbers, got dtype complex"):
            select(scores, budget=1)


def test_text_and_none_scores_are_refused():
    """Text was read as numbers ("1e3" ranked above "10"), and None as NaN: "scores must not
    contain NaN", a value the caller never gave."""
    import pandas as pd

    for scores, got in ((["10", "9", "1e3"], "dtype <U3"), ([b"1", b"2"], "dtype |S1"),
                        ([0.3, None], "None at position 1"),
                        (pd.Series(["10", "9", "1e3"]), "'10' at position 0")):
        with pytest.raises(InvalidParameterError, match=re.escape(
                f"scores must be real numbers, got {got}")):
            select(scores, budget=1)
    assert select(np.array([1, 2.5], dtype=object), budget=1).tolist() == [False, True]


def test_a_budget_above_the_groups_says_that_it_counts_groups():
    # "budget must be <= 2, got 4" of four scores read as a bug
    with pytest.raises(InvalidParameterError, match=r"budget must be <= 2, the number of groups \(a budget "
                                                    r"counts groups, not the 4 entries\), got 4"):
        select([1.0, 2.0, 3.0, 4.0], budget=4, groups=[0, 0, 1, 1])
    assert select([1.0, 2.0, 3.0, 4.0], budget=np.int64(2), groups=[0, 0, 1, 1]).all()
    with pytest.raises(InvalidParameterError, match=r"budget must be <= 2, got 3$"):
        select([1.0, 2.0], budget=3)


@pytest.mark.parametrize("ratio, n, kept", [(0.58, 25, 15), (0.29, 50, 15), (0.57, 50, 29), (0.7, 45, 32),
                                            (0.7, 10, 7), (0.98, 25, 25), (1, 25, 25), (0.02, 25, 1)])
def test_keep_ratio_and_density_round_half_up_for_the_number_as_written(ratio, n, kept):
    # 0.58 * 25 is 14.499999999999998 in floats: 14 were kept where 0.58 of 25 is 14.5, half up 15
    from fractions import Fraction

    import torch

    exact = Fraction(str(ratio))
    # (a bfloat16 was read in float32's digits: 0.7 as 0.69921875, 0.58 as 0.578125)
    for value in (ratio, exact, np.float64(ratio), np.float32(ratio), np.array(ratio, dtype=np.float32),
                  torch.tensor(ratio), torch.tensor(ratio, dtype=torch.float16),
                  torch.tensor(ratio, dtype=torch.bfloat16)):
        assert budget_from_keep_ratio(value, n) == kept
        assert resolve_budget(n, keep_ratio=value) == kept
        assert resolve_budget(2 * n, density=value, num_nodes=n) == kept
    for value in (ratio, np.float32(ratio)):
        assert select(np.arange(float(n)), keep_ratio=value).sum() == kept
    if exact * n % 1 == Fraction(1, 2):  # a Fraction is exact, not the float nearest to it
        assert budget_from_keep_ratio(exact - Fraction(1, 10**30), n) == kept - 1


def test_num_items_and_num_nodes_may_be_0d_arrays_or_tensors_as_as_structure_takes_them():
    # resolve_budget(e, density=1, num_nodes=edge_index.max() + 1): "num_nodes must be an integer,
    # got tensor(5)"
    import torch

    for num in (np.array(5), torch.tensor(5), np.int64(5)):
        assert resolve_budget(10, density=1, num_nodes=num) == 5
        assert resolve_budget(num, keep_ratio=0.5) == budget_from_keep_ratio(0.5, num) == 3
    for bad in (np.array(5.0), torch.tensor(True), np.array([5])):
        with pytest.raises(InvalidParameterError, match="num_nodes must be an integer"):
            resolve_budget(10, density=1, num_nodes=bad)


def test_a_keep_ratio_out_of_range_is_refused_exactly_and_by_name():
    from fractions import Fraction

    # 10**400 raised OverflowError; Fraction(10**20 + 1, 10**20) is 1.0 as a float and passed
    for bad in (10**400, Fraction(10**20 + 1, 10**20), -(10**400)):
        with pytest.raises(InvalidParameterError, match=r"^keep_ratio must be in \(0, 1\], got"):
            resolve_budget(10, keep_ratio=bad)
    assert resolve_budget(10, keep_ratio=Fraction(10**20, 10**20)) == 10


@pytest.mark.parametrize("size, shown", [
    ({"keep_ratio": 0.5}, "keep_ratio 0.5 is below the tree, 0.501 of the edges"),
    ({"density": 0.5}, "density 0.5 is below the tree, 0.501 edges per node")])
def test_the_share_a_size_floor_names_is_enough(size, shown):
    # 50049 of 100000 edges was shown as 0.500, which keeps 50000: too few again
    with pytest.raises(InvalidParameterError, match=f"^{shown}$"):
        check_size_floor(50000, 50049, 100000, what="the tree", num_nodes=100000, **size)
    check_size_floor(budget_from_keep_ratio(0.501, 100000), 50049, 100000, what="the tree", **size)


def test_size_messages_count_one_thing_in_the_singular(tmp_path):
    """"the graph's 1 edges", "only 1 self-loops", "below the tree, 1 edges", "must end in one
    of .ply"."""
    from sparsebox.outputs import check_output_file
    from sparsebox.select import check_budget_fits

    for args, message in (((2, 1, 0), "budget 2 is more than the graph's 1 edge$"),
                          ((1, 0, 1), "the graph has none: only 1 self-loop, which"),
                          ((3, 2, 1), r"more than the 2 edges other than self-loops \(the self-loop "
                                      "is always kept")):
        with pytest.raises(InvalidParameterError, match=message):
            check_budget_fits(*args)
    with pytest.raises(InvalidParameterError, match="below the tree, 1 edge$"):
        check_size_floor(0, 1, 3, what="the tree", budget=0)
    with pytest.raises(InvalidParameterError, match=r"must end in \.ply \(the format"):
        check_output_file(tmp_path / "x.txt", option="--output", suffixes=[".ply"])


def test_integer_scores_are_ranked_as_themselves():
    """select read scores as float64: of 2**53 and 2**53 + 1 it kept the smaller (a tie, to the
    lower index), and counted 2**53 as at least a threshold of 2**53 + 1; l0_project_ kept the
    larger."""
    big = np.array([2**53, 2**53 + 1])
    assert select(big, budget=1).tolist() == [False, True]
    assert select(big, threshold=2**53 + 1).tolist() == [False, True]
    import torch

    assert select(torch.tensor(big), budget=1).tolist() == [False, True]
    extremes = np.array([np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max])  # no -score overflow
    assert select(extremes, budget=1).tolist() == [False, False, True]
    assert select(np.array([3, 1, 3], dtype=np.uint8), budget=2).tolist() == [True, False, True]
    assert select(np.array([1, 2, 3]), threshold=2.5).tolist() == [False, False, True]


def test_a_group_mean_of_huge_scores_does_not_overflow():
    """The mean was the group's sum over its size: 1.7e308 + 1.7e308 is inf, so group 0 beat
    group 1's larger 1.75e308."""
    scores = np.array([1.7e308, 1.7e308, 1.75e308])
    assert select(scores, budget=1, groups=[0, 0, 1]).tolist() == [False, False, True]
