"""Property tests (hypothesis) for invariants of the building blocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_lib.datasets import BGNBDParams
from crm_lib.datasets._btyd import fixed_width_ids, simulate_bgnbd
from crm_lib.intake import profiling


@given(st.lists(st.integers(0, 10**8 - 1), max_size=50), st.sampled_from(["C", "O", "XY"]))
def test_fixed_width_ids_match_string_formatting(numbers, prefix):
    ids = fixed_width_ids(prefix, np.array(numbers, dtype=np.int64), 8).to_pylist()
    assert ids == [f"{prefix}{n:08d}" for n in numbers]


@settings(max_examples=25, deadline=None)
@given(
    st.floats(0.2, 3.0), st.floats(0.5, 10.0), st.floats(0.3, 3.0), st.floats(0.5, 10.0),
    st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_bgnbd_draws_are_consistent(r, alpha, a, b, seed):
    rng = np.random.default_rng(seed)
    T = rng.uniform(0.1, 100, 300)
    d = simulate_bgnbd(rng, BGNBDParams(r, alpha, a, b), T)
    assert d.offsets[-1] == d.times.size == d.n_repeat.sum()
    assert ((d.times > 0) & (d.times <= T[d.owner])).all()
    assert ((d.p_drop >= 0) & (d.p_drop <= 1)).all()
    owner = d.owner
    assert (np.diff(d.times)[owner[1:] == owner[:-1]] >= 0).all()


@settings(max_examples=30, deadline=None)
@given(st.permutations(list(range(8))))
def test_profile_does_not_depend_on_row_order(order):
    df = pd.DataFrame(
        {
            "a": [1.0, None, 3.0, 4.0, 5.0, 5.0, 2.0, 9.0],
            "name": ["x", "y", "", "z", "x", "w", None, "v"],
        }
    )
    base = profiling.profile_table(df)
    shuffled = profiling.profile_table(df.iloc[list(order)].reset_index(drop=True))
    pd.testing.assert_frame_equal(base, shuffled)
    assert base.loc[base["Column"] == "name", "Min"].item() == "(personal data, hidden)"
