"""Sparse rows (``liabilities.rows.SparseAmounts``) and their shuffle encoding agree with the dense
``(n, m, 2)`` amounts they stand for, including empty and all-zero inputs."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.liabilities.rows import SparseAmounts
from pipeline.liabilities.shuffle import sparse_amounts, sparse_columns

AMOUNT = st.sampled_from([0, 0, 0, 1, (1 << 64) - 1, 1 << 64, (1 << 128) - 1]) | st.integers(0, (1 << 128) - 1)


@st.composite
def tables(draw: st.DrawFn) -> np.ndarray:
    n, m = draw(st.integers(0, 12)), draw(st.integers(1, 11))
    cells = draw(st.lists(AMOUNT, min_size=n * m, max_size=n * m))
    dense = np.zeros((n, m, 2), dtype=np.uint64)
    for k, v in enumerate(cells):
        dense[k // m, k % m] = (v >> 64, v & ((1 << 64) - 1))
    return dense


@settings(deadline=None)  # the first call loads (or compiles) the kernels
@given(tables(), st.randoms(use_true_random=False))
def test_sparse_rows_are_the_dense_rows(dense, rnd):
    n, m = dense.shape[0], dense.shape[1]
    columns = [(dense[:, j, 1].copy(), dense[:, j, 0].copy()) for j in range(m)]
    sparse = SparseAmounts.from_columns(columns)
    assert np.array_equal(sparse.dense(), dense)
    assert np.array_equal(SparseAmounts.from_dense(dense).dense(), dense)
    order = np.array(rnd.sample(range(n), n), dtype=np.int64)
    assert np.array_equal(sparse.dense(order), dense[order])
    assert np.array_equal(sparse.take(order).dense(), dense[order])
    cut = rnd.randint(0, n)
    assert np.array_equal(SparseAmounts.concat([sparse[:cut], sparse[cut:]]).dense(), dense)
    # through an Arrow IPC file, as the shuffle writes it
    batch = pa.RecordBatch.from_pydict(sparse_columns(sparse))
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, batch.schema) as writer:
        writer.write_batch(batch)
    back = pa.ipc.open_file(pa.BufferReader(sink.getvalue())).get_batch(0)
    assert np.array_equal(sparse_amounts(back, m).dense(), dense)
