"""Time mlxtend 0.25's pair rules on a basket log (run in the benchmark-only .bench-venv/).

Imports only mlxtend and its stack (numpy, pandas, pyarrow), never crm_lib. Steps, each
run up to ``--repeat`` times in this process, the median printed as one JSON line:

- ``read_encode_s``: read ``basket_id, product_id`` from Parquet and build the one-hot
  basket x item table mlxtend needs, ``--encoding dense`` (numpy indexing into a boolean
  matrix, faster than ``TransactionEncoder``) or ``sparse`` (a sparse DataFrame, mlxtend's
  advice for large catalogues);
- ``fpgrowth_s``: ``fpgrowth(min_support, max_len=2)`` and ``association_rules`` on the
  frequent itemsets (every rule of support >= min_support).

``total_s`` is their sum: from the same file to the same rules as crm_lib.
``--save`` writes the rules of the last run to Parquet for the caller's identity check.

Usage: python run_mlxtend.py --path FILE --min-support 0.005 [--repeat 3] [--save OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings


def read_encode(path: str, encoding: str):
    import numpy as np
    import pandas as pd

    d = pd.read_parquet(path, columns=["basket_id", "product_id"])
    b, _ = pd.factorize(d["basket_id"])
    i, items = pd.factorize(d["product_id"])
    names = [str(x) for x in items]
    shape = (int(b.max()) + 1, len(items))
    if encoding == "sparse":  # mlxtend's advice for large catalogues
        from scipy import sparse

        m = sparse.csr_matrix((np.ones(b.shape[0], dtype=bool), (b, i)), shape=shape)
        m.sum_duplicates()
        return pd.DataFrame.sparse.from_spmatrix(m.astype(bool), columns=names)
    onehot = np.zeros(shape, dtype=bool)
    onehot[b, i] = True
    return pd.DataFrame(onehot, columns=names)


def rules(onehot, min_support: float):
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    freq = fpgrowth(onehot, min_support=min_support, use_colnames=True, max_len=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return association_rules(
            freq, num_itemsets=len(onehot), metric="support", min_threshold=min_support
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--path", required=True)
    ap.add_argument("--min-support", type=float, default=0.005)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--save", default="")
    ap.add_argument("--encoding", choices=["dense", "sparse"], default="dense")
    args = ap.parse_args()
    enc, fit = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        onehot = read_encode(args.path, args.encoding)
        enc.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out = rules(onehot, args.min_support)
        fit.append(time.perf_counter() - t0)
    if args.save:
        import pandas as pd

        pd.DataFrame(
            {
                "antecedent": [next(iter(a)) for a in out["antecedents"]],
                "consequent": [next(iter(c)) for c in out["consequents"]],
                **{c: out[c] for c in ("support", "confidence", "lift", "leverage", "conviction")},
            }
        ).to_parquet(args.save, index=False)
    print(
        json.dumps(
            {
                "read_encode_s": statistics.median(enc),
                "fpgrowth_s": statistics.median(fit),
                "total_s": statistics.median([a + b for a, b in zip(enc, fit, strict=True)]),
                "total_runs_s": [a + b for a, b in zip(enc, fit, strict=True)],
                "rules": len(out),
                "baskets": len(onehot),
                "items": onehot.shape[1],
                "runs": args.repeat,
                "encoding": args.encoding,
            }
        )
    )


if __name__ == "__main__":
    main()
