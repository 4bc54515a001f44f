"""The last-point cache: one computation per point, pytree keys, never a mixed-up pair."""

from __future__ import annotations

import threading

import numpy as np

from anydiff.optimize._memo import LastPoint


def test_one_computation_per_point_and_a_copy_of_the_key():
    calls = []
    memo = LastPoint(lambda x: (calls.append(x.copy()) or float(x.sum()), 2 * x))
    x = np.array([1.0, 2.0])
    assert memo.get(x)[0] == 3.0
    np.testing.assert_array_equal(memo.part(1)(x), [2.0, 4.0])
    assert len(calls) == 1 and memo.evaluations == 1
    x[0] = 5.0  # SciPy reuses its buffers: the key was copied, so this is a new point
    assert memo.get(x)[0] == 7.0 and memo.evaluations == 2
    assert memo.peek(np.array([1.0, 2.0])) is None


def test_pytree_keys_compare_leaf_by_leaf():
    memo = LastPoint(lambda p: (float(p["a"].sum() + p["b"]),))
    p = {"a": np.ones(2), "b": 1.0}
    assert memo.get(p) == (3.0,) and memo.get({"a": np.ones(2), "b": 1.0}) == (3.0,)
    assert memo.evaluations == 1
    assert memo.get({"a": np.ones(2), "b": 2.0}) == (4.0,) and memo.evaluations == 2
    assert memo.get({"a": np.ones(3), "b": 2.0}) == (5.0,) and memo.evaluations == 3  # new shape


def test_threads_never_pair_a_value_with_another_points_derivative():
    memo = LastPoint(lambda x: (float(x[0]), x.copy() * 3.0))
    errors = []

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(300):
            x = rng.integers(0, 4, size=1).astype(float)  # few points: frequent cache hits
            value, deriv = memo.get(x)
            if value != x[0] or deriv[0] != 3.0 * x[0]:
                errors.append((x[0], value, deriv[0]))

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
