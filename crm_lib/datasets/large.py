"""Large simulated transaction logs written straight to Parquet, in chunks.

For benchmarks and scale tests (10M-100M transaction lines): customers and transactions
only, generated chunk by chunk so that memory stays bounded by one chunk. The
purchase process and order values are the same as in :func:`~crm_lib.datasets.simulate`
(BG/NBD, gamma-gamma, lines, returns); sign-up funnel, experiment and survey are left
out, and the dropout probability is drawn without the satisfaction copula.
"""

from __future__ import annotations

import json
import math
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from crm_lib.datasets import world as w
from crm_lib.datasets._btyd import draw_dropout, fixed_width_ids

_PILOT = 20_000


@dataclass
class LargeWorldResult:
    """What :func:`simulate_to_parquet` wrote."""

    folder: Path
    n_customers: int
    n_transactions: int
    n_chunks: int

    @property
    def customers_path(self) -> Path:
        return self.folder / "customers.parquet"

    @property
    def transactions_path(self) -> Path:
        return self.folder / "transactions.parquet"


def _chunk(seed: int, k: int, n: int, offset: int, order_offset: int, params: w.WorldParams):
    """Customers and transaction lines of chunk ``k`` (Arrow tables)."""
    rng = np.random.default_rng([seed, k])
    customers, signup_w = w._simulate_customers(rng, n, params, id_offset=offset)
    bought = rng.random(n) < params.signup_to_cart * params.cart_to_purchase
    first_w = signup_w + rng.exponential(1 / 7, n) + rng.exponential(2 / 7, n)
    bought &= first_w < w.PERIOD_WEEKS
    buyer_idx = np.flatnonzero(bought)
    p_drop = draw_dropout(rng, params.bgnbd, buyer_idx.shape[0])
    _, _, _, orders, _ = w._purchase_orders(rng, first_w[buyer_idx], params, p_drop=p_drop)
    cat, pop = w._catalogue(np.random.default_rng([seed, 0]), params)
    ids = fixed_width_ids("C", offset + buyer_idx, 8)
    lines = w._order_lines(
        rng, orders, ids, params, cat, pop, order_offset=order_offset, return_offset=order_offset
    )
    return pa.Table.from_pandas(customers, preserve_index=False), lines, orders.owner.shape[0]


def _lines_per_customer(seed: int, params: w.WorldParams) -> float:
    _, lines, _ = _chunk(seed + 1_000_003, 0, _PILOT, 0, 0, params)
    return lines.num_rows / _PILOT


def simulate_to_parquet(
    folder: str | Path,
    n_transactions: int = 10_000_000,
    *,
    seed: int = 1,
    chunk_customers: int = 100_000,
    params: w.WorldParams | None = None,
    threads: int = 2,
) -> LargeWorldResult:
    """Generate about ``n_transactions`` lines (and their customers) to Parquet.

    Parameters
    ----------
    folder : str or Path
        Output folder (replaced): ``customers.parquet``, ``transactions.parquet``,
        ``manifest.json``.
    n_transactions : int
        Target number of transaction lines; the realised count is within about 1%.
    seed : int
        Same seed, same files.
    chunk_customers : int
        Customers per chunk; memory is bounded by one chunk per thread.
    threads : int
        Chunks generated concurrently (NumPy and Arrow release the GIL).

    Returns
    -------
    LargeWorldResult
    """
    p = params or w.WorldParams()
    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    n_customers = max(1, round(n_transactions / _lines_per_customer(seed, p)))
    n_chunks = math.ceil(n_customers / chunk_customers)
    sizes = [chunk_customers] * (n_chunks - 1) + [n_customers - chunk_customers * (n_chunks - 1)]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    # Chunk k numbers its orders (and its return documents) from k * block.
    block = 10**8 // max(n_chunks, 1)

    cust_writer = tx_writer = None
    n_tx = 0
    try:
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            futures = [
                pool.submit(_chunk, seed, k, sizes[k], int(offsets[k]), k * block, p)
                for k in range(n_chunks)
            ]
            for fut in futures:
                customers, lines, n_orders = fut.result()
                if n_orders > block:
                    raise ValueError("too many orders per chunk for 8-digit order ids")
                if cust_writer is None:
                    cust_writer = pq.ParquetWriter(tmp / "customers.parquet", customers.schema)
                    tx_writer = pq.ParquetWriter(tmp / "transactions.parquet", lines.schema)
                cust_writer.write_table(customers)
                tx_writer.write_table(lines, row_group_size=1 << 20)
                n_tx += lines.num_rows
    finally:
        for writer in (cust_writer, tx_writer):
            if writer is not None:
                writer.close()
    result = LargeWorldResult(folder, n_customers, n_tx, n_chunks)
    (tmp / "manifest.json").write_text(
        json.dumps(
            {
                "kind": "crm_lib large simulated log",
                "seed": seed,
                "n_customers": n_customers,
                "n_transactions": n_tx,
                "params": p.to_dict(),
            },
            indent=2,
        )
    )
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return result
