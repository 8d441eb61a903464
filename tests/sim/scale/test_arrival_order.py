"""The bank's delivery order: by flow, then arrival time, ties in send order (np.lexsort as reference)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hasim.sim.scale.copies import arrival_order

times = st.one_of(
    st.floats(min_value=0.0, max_value=120.0),
    st.sampled_from([0.0, 5e-324, 1e-300, 1.0, np.nextafter(1.0, 2.0), 33.6, 59.999]),
)


def reference(arr: np.ndarray, fl: np.ndarray) -> np.ndarray:
    return np.lexsort((np.arange(arr.shape[0]), arr, fl))


@given(st.lists(st.tuples(st.integers(0, 40), times), max_size=300), st.integers(41, 400_000))
def test_order_is_flow_then_time_then_send_order(packets: list[tuple[int, float]], n_flows: int) -> None:
    packets.sort(key=lambda p: p[0])  # the bank passes copies flow-major
    fl = np.array([p[0] for p in packets], dtype=np.int64)
    arr = np.array([p[1] for p in packets], dtype=np.float64)
    assert np.array_equal(arrival_order(arr, fl, n_flows), reference(arr, fl))


@pytest.mark.parametrize("n_flows", [30_000, 1 << 16, (1 << 16) + 1, 300_000])
def test_times_merged_by_the_key_shift_still_come_out_in_order(n_flows: int) -> None:
    # 1e-300 next to 1.0 makes the bit-pattern range wider than the room beside the flow number, so
    # the key drops low bits: 1.0 and the next double share a key, and came in the wrong order
    # (the flows of a 100,000-peer run, about 300,000, leave less room than 30,000 do)
    one_up = float(np.nextafter(1.0, 2.0))
    arr = np.array([1e-300, one_up, 1.0, 1.0, 2.0, 0.5, 0.25])
    fl = np.array([0, 1, 1, 1, 1, n_flows - 1, n_flows - 1], dtype=np.int64)
    assert arrival_order(arr, fl, n_flows).tolist() == [0, 2, 3, 1, 4, 6, 5]


@pytest.mark.parametrize("n_flows", [3_000, 300_000])
def test_many_flows_and_nearly_sorted_times(n_flows: int) -> None:
    rng = np.random.default_rng(7)
    n = 20_000
    fl = np.sort(rng.integers(0, n_flows, n))
    arr = 30.0 + np.cumsum(rng.random(n)) * 1e-3 + rng.random(n) * 0.01  # jittered, some ties
    arr[::97] = arr[1::97][: arr[::97].shape[0]]
    assert np.array_equal(arrival_order(arr, fl, n_flows), reference(arr, fl))
