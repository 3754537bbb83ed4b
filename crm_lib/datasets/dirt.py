"""Raw CRM exports with planted dirt, derived from the clean tables of a simulated world.

A real CRM system does not hand the researcher contract tables: it hands report exports
with English column labels, text in every cell, local times in several formats, labels
typed by hand, duplicate accounts, test data and the odd data-entry slip.
:func:`make_raw_exports` produces such exports from a clean :class:`~crm_lib.datasets.World`
and lists every planted problem in ``dirty_records`` (``world.truth.dirty_records``), so a
cleaning pipeline can be scored against the truth.

==========================  ================================================================
export (file encoding)      planted dirt (``kind`` in ``dirty_records``)
==========================  ================================================================
``customers_export`` (GBK)  ``duplicate_customer`` (~3%: new id, typo'd name, e-mail case or
                            spaces, phone re-formatted, sign-up a few days later),
                            ``date_format`` (mixed local-time formats, one summary row per
                            format), ``label_variant`` (Region, Gender, Marketing Opt-in),
                            ``missing_value`` (~4% Region, ~3% Source), ``test_account`` (3)
``orders_export``           ``date_format`` (one format per order), ``amount_format`` (~2%:
(UTF-8 with BOM)            ``¥1234.50``; ``1,234.50`` for half the amounts >= 1000),
                            ``outlier`` (~0.1% of sale lines x 100), ``negative_without_order`` (~0.1% extra credit lines without
                            Original Order), ``test_order``, ``duplicate_customer_order``
                            (half of an original customer's later orders booked to the
                            duplicate id), ``duplicate_line`` (~0.2% exact copies),
                            ``missing_value`` (~0.5% Category)
==========================  ================================================================

Row-level records have ``key`` = customer id (customers) or ``<order no>/<line>``
(orders); table-wide format problems have one summary row with ``key = "*"``.
Dates are local time (``Asia/Shanghai``); the formats and their ``strptime`` patterns are in
:data:`DATE_FORMATS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from crm_lib.contract import schemas
from crm_lib.datasets import _text
from crm_lib.datasets.container import World

__all__ = [
    "CUSTOMER_COLUMNS",
    "DATE_FORMATS",
    "DIRTY_RECORD_COLUMNS",
    "EXPORT_ENCODINGS",
    "LABEL_VARIANTS",
    "ORDER_COLUMNS",
    "TEST_ACCOUNTS",
    "DirtParams",
    "format_problems_found",
    "planted_vs_found",
    "line_keys",
    "make_raw_exports",
    "score_found",
    "write_raw_exports",
]

EXPORT_ENCODINGS: dict[str, str] = {"customers_export": "gbk", "orders_export": "utf-8-sig"}
"""File encoding of each raw export, as the source systems write them."""

CUSTOMER_COLUMNS: dict[str, str] = {
    "Customer ID": "customer_id",
    "Name": "name",
    "Email": "email",
    "Mobile": "phone",
    "Signup Date": "signup_at",
    "Region": "region",
    "Source": "acquisition_channel",
    "Gender": "gender",
    "Birth Year": "birth_year",
    "Marketing Opt-in": "marketing_consent",
}
"""Column of ``customers_export`` -> column of the ``customers`` contract table."""

ORDER_COLUMNS: dict[str, str] = {
    "Order No": "order_id",
    "Line": "line_no",
    "Customer ID": "customer_id",
    "Order Date": "ordered_at",
    "Amount": "amount",
    "Currency": "currency",
    "Qty": "quantity",
    "SKU": "product_id",
    "Category": "category",
    "Channel": "channel",
    "Original Order": "original_order_id",
}
"""Column of ``orders_export`` -> column of the ``transactions`` contract table."""

DATE_FORMATS: dict[str, tuple[str, float]] = {
    "iso": ("%Y-%m-%d %H:%M:%S", 0.6),  # 2024-03-05 14:22:01
    "day_first": ("%d/%m/%Y", 0.2),  # 05/03/2024 (DD/MM/YYYY)
    "chinese": ("%Y年%m月%d日", 0.1),  # 2024年3月5日 (no leading zeros)
    "slash": ("%Y/%m/%d %H:%M", 0.1),  # 2024/3/5 14:22 (no leading zeros in the date)
}
"""Date formats of the exports: name -> (``strptime`` pattern that parses it, share of rows).

Every date is local time (``Asia/Shanghai``), truncated to the resolution of its format.
"""

LABEL_VARIANTS: dict[str, dict[str, tuple[str, ...]]] = {
    "Region": {
        "north": ("north", "NORTH", " north ", "华北"),
        "east": ("east", "EAST", " east ", "华东"),
        "south": ("south", "SOUTH", " south ", "华南"),
        "west": ("west", "WEST", " west ", "西部"),
        "central": ("central", "CENTRAL", " central ", "华中"),
    },
    "Gender": {
        "female": ("female", "F", "女"),
        "male": ("male", "M", "男"),
        "other": ("other", "O", "其他"),
        "unknown": ("unknown", "U", "未知"),
    },
    "Marketing Opt-in": {
        "True": ("Y", "yes", "1", "TRUE"),
        "False": ("N", "no", "0", "FALSE"),
    },
}
"""Labels written for each canonical value (``str(bool)`` for the opt-in), by export column.

The style (tuple position) is drawn per row with the shares in :class:`DirtParams`.
"""

TEST_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("测试账号", "test+1@example.com", "13800138000"),
    ("Test User", "test+2@example.com", "+8613900000000"),
    ("内部测试", "test+3@example.com", ""),
)
"""Internal test accounts planted in ``customers_export``: (name, e-mail, mobile)."""

DIRTY_RECORD_COLUMNS = ["table", "key", "kind", "detail"]

_US_PER_DAY = 86_400 * 1_000_000
_DIGITS4 = np.array(
    [[48 + (i // 10**k) % 10 for k in (3, 2, 1, 0)] for i in range(10_000)], dtype=np.uint8
)


@dataclass(frozen=True)
class DirtParams:
    """Shares of planted dirt; the defaults are the documented ones.

    Style shares are in the order of the variants in :data:`LABEL_VARIANTS`.
    """

    duplicate_customer: float = 0.03
    duplicate_signup_days: tuple[float, float] = (1.0, 7.0)
    reattribute_orders: float = 0.5  # of an original's orders after the duplicate sign-up
    region_styles: tuple[float, ...] = (0.80, 0.06, 0.04, 0.10)
    gender_styles: tuple[float, ...] = (0.40, 0.30, 0.30)
    opt_in_styles: tuple[float, ...] = (0.30, 0.20, 0.25, 0.25)
    missing_region: float = 0.04
    missing_source: float = 0.03
    amount_yen: float = 0.015  # of lines: ``¥1234.50``
    amount_thousands: float = 0.5  # of the other lines with abs(amount) >= 1000: ``1,234.50``
    outlier: float = 0.001  # of sale lines
    outlier_factor: float = 100.0
    negative_without_order: float = 0.001  # extra lines, per sale line
    duplicate_line: float = 0.002
    missing_category: float = 0.005
    test_orders_per_account: int = 2


# ------------------------------------------------------------------------ helpers


def _text_series(values) -> pd.Series:
    """A text column (``str`` dtype, default index)."""
    return pd.Series(np.asarray(values, dtype=object), dtype="str")


def _fixed_width_text(parts: list, n: int) -> pd.Series:
    """Fixed-width text built from literals and zero-padded integers, in one byte buffer.

    ``parts`` holds ASCII literals (``str``) and ``(int array, width)`` pairs (width <= 4).
    """
    width = sum(len(p) if isinstance(p, str) else p[1] for p in parts)
    buf = np.empty((n, width), dtype=np.uint8)
    pos = 0
    for part in parts:
        if isinstance(part, str):
            buf[:, pos : pos + len(part)] = np.frombuffer(part.encode("ascii"), dtype=np.uint8)
            pos += len(part)
        else:
            values, w = part
            buf[:, pos : pos + w] = _DIGITS4[np.asarray(values, dtype=np.int64) % 10**w][:, 4 - w :]
            pos += w
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf))
    return pd.Series(arr.cast(pa.string()).to_pandas(), dtype="str")


def _epoch_us(ts: pd.Series) -> np.ndarray:
    """Microseconds since the Unix epoch (UTC) of timezone-aware timestamps."""
    return pd.DatetimeIndex(ts).as_unit("us").asi8.copy()


def _ints(values: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=np.int64)).astype("str")


def _date_text(ts: pd.Series, style: np.ndarray) -> pd.Series:
    """Local-time text of UTC timestamps in the :data:`DATE_FORMATS` style per row."""
    local = ts.dt.tz_convert(schemas.LOCAL_TIMEZONE).dt.tz_localize(None)
    sec_ts = local.to_numpy(dtype="datetime64[s]")
    day = sec_ts.astype("datetime64[D]")
    month = sec_ts.astype("datetime64[M]")
    y = sec_ts.astype("datetime64[Y]").astype(np.int64) + 1970
    mo = month.astype(np.int64) % 12 + 1
    d = (day - month.astype("datetime64[D]")).astype(np.int64) + 1
    sec = (sec_ts - day).astype(np.int64)
    hh, mi, ss = sec // 3600, sec // 60 % 60, sec % 60
    n = len(ts)
    out = _fixed_width_text(
        [(y, 4), "-", (mo, 2), "-", (d, 2), " ", (hh, 2), ":", (mi, 2), ":", (ss, 2)], n
    )
    names = list(DATE_FORMATS)
    for k, name in enumerate(names[1:], start=1):
        m = style == k
        if not m.any():
            continue
        ys, ms, ds = _ints(y[m]), _ints(mo[m]), _ints(d[m])
        if name == "day_first":
            text = _fixed_width_text([(d[m], 2), "/", (mo[m], 2), "/", (y[m], 4)], int(m.sum()))
        elif name == "chinese":
            text = ys + "年" + ms + "月" + ds + "日"
        else:  # slash
            hm = _fixed_width_text([(hh[m], 2), ":", (mi[m], 2)], int(m.sum()))
            text = ys + "/" + ms + "/" + ds + " " + hm
        out.loc[m] = text.to_numpy()
    return out


def _draw_date_styles(rng: np.random.Generator, n: int) -> np.ndarray:
    shares = np.array([share for _, share in DATE_FORMATS.values()])
    return rng.choice(len(shares), size=n, p=shares / shares.sum())


def _date_format_records(table: str, style: np.ndarray) -> pd.DataFrame:
    counts = np.bincount(style, minlength=len(DATE_FORMATS))
    rows = [
        (table, "*", "date_format", f"{fmt} ({count} rows)")
        for (fmt, _), count in zip(DATE_FORMATS.values(), counts, strict=True)
        if count
    ]
    return pd.DataFrame(rows, columns=DIRTY_RECORD_COLUMNS)


def _records(table: str, keys, kind: str, detail) -> pd.DataFrame:
    keys = np.asarray(keys, dtype=object)
    detail = np.broadcast_to(np.asarray(detail, dtype=object), keys.shape)
    return pd.DataFrame(
        {"table": table, "key": keys, "kind": kind, "detail": detail}, columns=DIRTY_RECORD_COLUMNS
    )


def _amount_text(amount: np.ndarray) -> pd.Series:
    """Amounts with two decimals (``-1234.50``), vectorised."""
    cents = np.round(np.asarray(amount, dtype=float) * 100).astype(np.int64)
    a = np.abs(cents)
    sign = _text_series(np.where(cents < 0, "-", ""))
    return sign + _ints(a // 100) + _fixed_width_text([".", (a % 100, 2)], a.shape[0])


def _id_numbers(ids: pd.Series, prefix: str) -> np.ndarray:
    s = ids[ids.str.startswith(prefix, na=False)].str.slice(len(prefix))
    return s.astype(np.int64).to_numpy() if len(s) else np.zeros(0, dtype=np.int64)


def _new_ids(prefix: str, start: int, n: int, width: int = 8) -> np.ndarray:
    return np.array([f"{prefix}{i:0{width}d}" for i in range(start, start + n)], dtype=object)


def _order_keys(order_no: pd.Series, line: pd.Series) -> pd.Series:
    return order_no.reset_index(drop=True) + "/" + line.reset_index(drop=True).astype("str")


# --------------------------------------------------------------------- customers


def _typo_name(name: str, rng: np.random.Generator) -> str:
    """The same name as typed again: a look-alike character, a dropped one, or a slip."""
    if not name:
        return name
    if name.isascii():
        first, _, last = name.partition(" ")
        # Two adjacent letters swapped (never across the space), or a case slip.
        swaps = [i for i in range(len(name) - 1) if " " not in name[i : i + 2]]
        swaps = [i for i in swaps if name[i].lower() != name[i + 1].lower()]
        if swaps and rng.random() < 0.5:
            i = swaps[int(rng.integers(0, len(swaps)))]
            return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        return [name.lower(), name.upper(), f"{first} {last.lower()}"][int(rng.integers(0, 3))]
    options = [i for i, ch in enumerate(name) if ch in _text.ZH_CONFUSABLE]
    can_drop = len(name) >= 3
    if options and (not can_drop or rng.random() < 0.7):
        i = options[int(rng.integers(0, len(options)))]
        return name[:i] + _text.ZH_CONFUSABLE[name[i]] + name[i + 1 :]
    if can_drop:
        i = int(rng.integers(1, len(name)))
        return name[:i] + name[i + 1 :]
    return name


def _messy_email(email: str, rng: np.random.Generator) -> str:
    if not email:
        return email
    style = int(rng.integers(0, 3))
    if style in (0, 2):
        email = email.upper()
    if style in (1, 2):
        email = " " * int(rng.integers(0, 2)) + email + " " * int(rng.integers(1, 3))
    return email


def _messy_phone(phone: str, rng: np.random.Generator) -> str:
    if not phone:
        return phone
    local = phone.removeprefix("+86")
    a, b, c = local[:3], local[3:7], local[7:]
    return [f"{a} {b} {c}", f"+86-{a}-{b}-{c}", local][int(rng.integers(0, 3))]


def _styled_labels(
    rng: np.random.Generator, canonical: np.ndarray, column: str, shares: tuple[float, ...]
) -> np.ndarray:
    """Write each canonical value with a label style drawn per row."""
    variants = LABEL_VARIANTS[column]
    values = list(variants)
    table = np.array([variants[v] for v in values], dtype=object)
    code = pd.Categorical(canonical, categories=values).codes
    if (code < 0).any():
        raise ValueError(f"{column}: values outside {values} cannot be labelled")
    p = np.asarray(shares, dtype=float)
    style = rng.choice(table.shape[1], size=canonical.shape[0], p=p / p.sum())
    return table[code, style]


def _customers_export(customers: pd.DataFrame, rng: np.random.Generator, p: DirtParams):
    """The customers export, its dirty records and the duplicate/test accounts."""
    n = len(customers)
    name = customers["name"].fillna("").to_numpy(dtype=object)
    email = customers["email"].fillna("").to_numpy(dtype=object)
    phone = customers["phone"].fillna("").to_numpy(dtype=object)
    signup = _epoch_us(customers["signup_at"])

    # Duplicate accounts of the same person, and the internal test accounts.
    src = np.flatnonzero(rng.random(n) < p.duplicate_customer)
    lo, hi = p.duplicate_signup_days
    dup_signup = signup[src] + np.round(rng.uniform(lo, hi, src.shape[0]) * _US_PER_DAY).astype(
        np.int64
    )
    dup_name = np.array([_typo_name(name[i], rng) for i in src], dtype=object)
    dup_email = np.array([_messy_email(email[i], rng) for i in src], dtype=object)
    dup_phone = np.array([_messy_phone(phone[i], rng) for i in src], dtype=object)
    n_test = len(TEST_ACCOUNTS)
    test_signup = rng.integers(signup.min(), signup.max() + 1, n_test)
    test_region = rng.choice(schemas.REGIONS, n_test)

    ids = customers["customer_id"].astype("str")
    start = int(_id_numbers(ids, "C").max(initial=-1)) + 1
    extra_signup = np.concatenate([dup_signup, test_signup])
    by_time = np.argsort(extra_signup, kind="stable")
    extra_ids = np.empty(by_time.shape[0], dtype=object)
    extra_ids[by_time] = _new_ids("C", start, by_time.shape[0])
    dup_ids, test_ids = extra_ids[: src.shape[0]], extra_ids[src.shape[0] :]

    def col(column: str, test_values) -> np.ndarray:
        base = customers[column].to_numpy(dtype=object)
        return np.concatenate([base, base[src], np.asarray(test_values, dtype=object)])

    region = col("region", test_region)
    source = col("acquisition_channel", np.full(n_test, "direct", dtype=object))
    gender = col("gender", np.full(n_test, "unknown", dtype=object))
    birth = customers["birth_year"].astype("str").fillna("").to_numpy(dtype=object)
    birth = np.concatenate([birth, birth[src], np.full(n_test, "", dtype=object)])
    consent = customers["marketing_consent"].to_numpy(dtype=bool)
    consent = np.concatenate([consent, consent[src], np.zeros(n_test, dtype=bool)])
    all_signup = np.concatenate([signup, extra_signup])
    m = all_signup.shape[0]

    date_style = _draw_date_styles(rng, m)
    signup_ts = pd.Series(pd.to_datetime(all_signup, unit="us", utc=True))
    region_text = _styled_labels(rng, region, "Region", p.region_styles)
    gender_text = _styled_labels(rng, gender, "Gender", p.gender_styles)
    opt_in_text = _styled_labels(rng, consent.astype(str), "Marketing Opt-in", p.opt_in_styles)
    region_missing = rng.random(m) < p.missing_region
    source_missing = rng.random(m) < p.missing_source
    region_text[region_missing] = ""
    source = np.where(source_missing, "", source)

    all_ids = np.concatenate([ids.to_numpy(dtype=object), extra_ids])
    export = pd.DataFrame(
        {
            "Customer ID": _text_series(all_ids),
            "Name": _text_series(np.concatenate([name, dup_name, [a[0] for a in TEST_ACCOUNTS]])),
            "Email": _text_series(
                np.concatenate([email, dup_email, [a[1] for a in TEST_ACCOUNTS]])
            ),
            "Mobile": _text_series(
                np.concatenate([phone, dup_phone, [a[2] for a in TEST_ACCOUNTS]])
            ),
            "Signup Date": _date_text(signup_ts, date_style),
            "Region": _text_series(region_text),
            "Source": _text_series(source),
            "Gender": _text_series(gender_text),
            "Birth Year": _text_series(birth),
            "Marketing Opt-in": _text_series(opt_in_text),
        }
    )
    t = "customers"
    records = pd.concat(
        [
            _records(t, dup_ids, "duplicate_customer", ids.to_numpy(dtype=object)[src]),
            _records(t, test_ids, "test_account", [a[0] for a in TEST_ACCOUNTS]),
            _date_format_records(t, date_style),
            _records(t, ["*"] * 3, "label_variant", list(LABEL_VARIANTS)),
            _records(t, all_ids[region_missing], "missing_value", "Region"),
            _records(t, all_ids[source_missing], "missing_value", "Source"),
        ],
        ignore_index=True,
    )
    duplicates = pd.DataFrame(
        {
            "customer_id": ids.to_numpy(dtype=object)[src],
            "duplicate_id": dup_ids,
            "duplicate_signup_us": dup_signup,
        }
    )
    return export, records, duplicates, test_ids


# ------------------------------------------------------------------------ orders


def _orders_export(
    tx: pd.DataFrame,
    duplicates: pd.DataFrame,
    test_ids: np.ndarray,
    rng: np.random.Generator,
    p: DirtParams,
):
    """The orders export and its dirty records."""
    t = "orders"
    n = len(tx)
    order_no = tx["order_id"].astype("str").reset_index(drop=True)
    line_no = tx["line_no"].to_numpy(dtype=np.int64)
    customer = tx["customer_id"].astype("str").reset_index(drop=True)
    ts = _epoch_us(tx["ordered_at"])
    amount = tx["amount"].to_numpy(dtype=float).copy()
    original = tx["original_order_id"].astype("str").fillna("").reset_index(drop=True)
    is_sale = original.to_numpy(dtype=object) == ""
    keys = _order_keys(order_no, tx["line_no"])
    parts: list[pd.DataFrame] = []

    # Orders of duplicated customers placed after the duplicate sign-up: a share of the
    # orders (with their return lines) is booked to the duplicate account.
    dup_of = pd.Series(duplicates["duplicate_id"].to_numpy(), index=duplicates["customer_id"])
    since = pd.Series(duplicates["duplicate_signup_us"].to_numpy(), index=duplicates["customer_id"])
    cand = np.flatnonzero(customer.isin(dup_of.index).to_numpy() & is_sale)
    cand = cand[ts[cand] >= since.reindex(customer.iloc[cand]).to_numpy()]
    cand_orders = pd.unique(order_no.iloc[cand])
    moved = cand_orders[rng.random(cand_orders.shape[0]) < p.reattribute_orders]
    moved_rows = np.flatnonzero(order_no.isin(moved).to_numpy() | original.isin(moved).to_numpy())
    old_customer = customer.iloc[moved_rows].to_numpy(dtype=object)
    customer.iloc[moved_rows] = dup_of.reindex(old_customer).to_numpy()
    parts.append(_records(t, keys.iloc[moved_rows], "duplicate_customer_order", old_customer))

    # Line-level slips on disjoint sets of lines.
    u = rng.random(n)
    outlier = np.flatnonzero(is_sale & (u < p.outlier))
    dup_line = np.flatnonzero((u >= p.outlier) & (u < p.outlier + p.duplicate_line))
    lo = p.outlier + p.duplicate_line
    no_category = np.flatnonzero((u >= lo) & (u < lo + p.missing_category))
    parts.append(_records(t, keys.iloc[outlier], "outlier", _amount_text(amount[outlier])))
    amount[outlier] = np.round(amount[outlier] * p.outlier_factor, 2)
    category = tx["category"].astype("str").reset_index(drop=True)
    category.iloc[no_category] = ""
    parts.append(_records(t, keys.iloc[no_category], "missing_value", "Category"))

    base = pd.DataFrame(
        {
            "Order No": order_no,
            "Line": line_no,
            "Customer ID": customer,
            "ts": ts,
            "Amount": amount,
            "Currency": tx["currency"].astype("str").reset_index(drop=True),
            "Qty": tx["quantity"].to_numpy(dtype=np.int64),
            "SKU": tx["product_id"].astype("str").reset_index(drop=True),
            "Category": category,
            "Channel": tx["channel"].astype("str").reset_index(drop=True),
            "Original Order": original,
        }
    )

    # Credit lines without the order they return (a sale line mirrored a few days later).
    sale_rows = np.flatnonzero(is_sale)
    n_neg = int(rng.binomial(sale_rows.shape[0], p.negative_without_order))
    mirror = np.sort(rng.choice(sale_rows, size=n_neg, replace=False))
    neg = base.iloc[mirror].reset_index(drop=True)
    neg["Order No"] = _new_ids("R", int(_id_numbers(order_no, "R").max(initial=-1)) + 1, n_neg)
    neg["Line"] = 1
    neg_days = rng.uniform(1, 14, n_neg)
    neg["ts"] = np.minimum(ts[mirror] + np.round(neg_days * _US_PER_DAY).astype(np.int64), ts.max())
    neg["Amount"] = -tx["amount"].to_numpy(dtype=float)[mirror]
    neg["Qty"] = -neg["Qty"]
    neg["Category"] = tx["category"].astype("str").to_numpy()[mirror]
    parts.append(
        _records(
            t,
            _order_keys(neg["Order No"], neg["Line"]),
            "negative_without_order",
            keys.iloc[mirror],
        )
    )

    # Test orders of the internal test accounts, in the last half year.
    k = p.test_orders_per_account
    test_owner = np.repeat(np.asarray(test_ids, dtype=object), k)
    test_ts = np.sort(rng.integers(ts.max() - 26 * 7 * _US_PER_DAY, ts.max(), test_owner.shape[0]))
    n_lines = rng.integers(1, 3, test_owner.shape[0])
    o = np.repeat(np.arange(test_owner.shape[0]), n_lines)
    like = rng.choice(sale_rows, size=o.shape[0])
    test = base.iloc[like].reset_index(drop=True)
    test_no = _new_ids("O", int(_id_numbers(order_no, "O").max(initial=-1)) + 1, len(test_owner))
    first = np.r_[0, np.cumsum(n_lines)[:-1]]
    test["Order No"] = test_no[o]
    test["Line"] = np.arange(o.shape[0]) - first[o] + 1
    test["Customer ID"] = test_owner[o]
    test["ts"] = test_ts[o]
    test["Amount"] = rng.choice([0.01, 0.1, 1.0, 9.9], size=o.shape[0])
    test["Qty"] = 1
    test["Category"] = tx["category"].astype("str").to_numpy()[like]
    test["Channel"] = rng.choice(schemas.SALES_CHANNELS, size=o.shape[0])
    parts.append(
        _records(t, _order_keys(test["Order No"], test["Line"]), "test_order", test_owner[o])
    )

    work = pd.concat([base, neg, test], ignore_index=True)
    m = len(work)
    # One date format per order document (the lines of an order come from one system).
    doc, _ = pd.factorize(work["Order No"])
    date_style = _draw_date_styles(rng, int(doc.max()) + 1)[doc]
    amounts = work["Amount"].to_numpy(dtype=float)
    amount_text = _amount_text(amounts)
    # Amounts typed by hand (~2%): a yen sign, or thousands separators on large amounts.
    amount_style = np.zeros(m, dtype=np.int64)
    amount_style[rng.random(m) < p.amount_yen] = 2
    big = (amount_style == 0) & (np.abs(amounts) >= 1000)
    amount_style[big & (rng.random(m) < p.amount_thousands)] = 1
    fmt = np.flatnonzero(amount_style)
    amount_text.iloc[fmt] = [
        f"{a:,.2f}" if style == 1 else f"{'-' if a < 0 else ''}¥{abs(a):.2f}"
        for a, style in zip(amounts[fmt], amount_style[fmt], strict=True)
    ]
    text = pd.DataFrame(
        {
            "Order No": work["Order No"].astype("str"),
            "Line": work["Line"].astype("str"),
            "Customer ID": work["Customer ID"].astype("str"),
            "Order Date": _date_text(
                pd.Series(pd.to_datetime(work["ts"], unit="us", utc=True)), date_style
            ),
            "Amount": amount_text,
            "Currency": work["Currency"].astype("str"),
            "Qty": work["Qty"].astype("str"),
            "SKU": work["SKU"].astype("str"),
            "Category": work["Category"].astype("str"),
            "Channel": work["Channel"].astype("str"),
            "Original Order": work["Original Order"].astype("str"),
        }
    )

    # Row order: the clean lines in time order; the extra lines at their time; an exact
    # copy right after the line it copies.
    extra_ts = work["ts"].to_numpy()[n:]
    sort_key = np.concatenate(
        [
            np.arange(n, dtype=float),
            np.searchsorted(ts, extra_ts, side="right") - 0.5,
            dup_line + 0.25,
        ]
    )
    rows = np.concatenate([np.arange(m), dup_line])
    order = np.lexsort((work["ts"].to_numpy()[rows], sort_key))
    export = text.iloc[rows[order]].reset_index(drop=True)
    parts.append(_records(t, keys.iloc[dup_line], "duplicate_line", "exact copy of the line"))

    style_out = date_style[rows]
    amount_counts = np.bincount(amount_style[rows], minlength=3)
    summary = [
        _date_format_records(t, style_out),
        _records(
            t,
            ["*", "*"],
            "amount_format",
            [
                f"thousands separator 1,234.50 ({amount_counts[1]} rows)",
                f"yen sign ¥1234.50 ({amount_counts[2]} rows)",
            ],
        ),
    ]
    records = pd.concat(summary + parts, ignore_index=True)
    return export, records


# ------------------------------------------------------------------------ public


def make_raw_exports(
    world: World,
    rng: np.random.Generator | int,
    *,
    params: DirtParams | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Raw CRM exports of the world's clean tables, with planted dirt, and the dirt list.

    Parameters
    ----------
    world : World
        A simulated world; only ``world.customers`` and ``world.transactions`` are read
        (nothing is modified).
    rng : numpy.random.Generator or int
        Random generator (or seed) of every planted problem; the same generator state
        gives identical exports.
    params : DirtParams, optional
        Shares of planted dirt; the defaults are documented in :class:`DirtParams`.

    Returns
    -------
    raw : dict of str to pandas.DataFrame
        ``customers_export`` (columns of :data:`CUSTOMER_COLUMNS`) and ``orders_export``
        (columns of :data:`ORDER_COLUMNS`): every cell is text (``str`` dtype), a missing
        value is the empty string. Write them with :func:`write_raw_exports`.
    dirty_records : pandas.DataFrame
        Every planted problem: ``table`` (``customers`` or ``orders``), ``key`` (customer
        id, ``<order no>/<line>``, or ``"*"`` for a table-wide summary row), ``kind`` and
        ``detail`` (all ``str``). See the module docstring for the kinds.

    Notes
    -----
    Extra rows: customers export = customers + ``duplicate_customer`` + ``test_account``
    records; orders export = transaction lines + ``negative_without_order`` +
    ``test_order`` + ``duplicate_line`` records. Every other problem edits a row in place.

    Examples
    --------
    >>> import numpy as np
    >>> from crm_lib.datasets import simulate
    >>> from crm_lib.datasets.dirt import make_raw_exports
    >>> world = simulate("small", seed=1, dirty=False)
    >>> raw, dirty = make_raw_exports(world, np.random.default_rng(0))
    >>> list(raw["customers_export"].columns[:4])
    ['Customer ID', 'Name', 'Email', 'Mobile']
    >>> sorted(dirty.loc[dirty["table"] == "customers", "kind"].unique())[:2]
    ['date_format', 'duplicate_customer']
    """
    p = params or DirtParams()
    rng = np.random.default_rng(rng)
    customers, c_records, duplicates, test_ids = _customers_export(world.customers, rng, p)
    orders, o_records = _orders_export(world.transactions, duplicates, test_ids, rng, p)
    records = pd.concat([c_records, o_records], ignore_index=True)
    records = records.astype({c: "str" for c in DIRTY_RECORD_COLUMNS})
    return {"customers_export": customers, "orders_export": orders}, records


def write_raw_exports(raw: dict[str, pd.DataFrame], folder: str | Path) -> dict[str, Path]:
    """Write the raw exports as CSV files in the encodings of their source systems.

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        Exports by name, as returned by :func:`make_raw_exports` (``world.raw``); every
        name must have an encoding in :data:`EXPORT_ENCODINGS`.
    folder : str or pathlib.Path
        Output folder (created if missing); files are ``<name>.csv``.

    Returns
    -------
    dict of str to pathlib.Path
        The written file of each export.

    Raises
    ------
    ValueError
        When an export has no known encoding.
    """
    unknown = sorted(set(raw) - set(EXPORT_ENCODINGS))
    if unknown:
        raise ValueError(
            f"no file encoding known for raw export(s) {unknown}: add them to EXPORT_ENCODINGS "
            f"(known: {', '.join(EXPORT_ENCODINGS)})"
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, df in raw.items():
        path = folder / f"{name}.csv"
        # Deliberately not crm_lib.intake.io.write_csv: these files stand for the source systems'
        # own bytes (negative amounts as "-12.50" text); report exports use io.write_csv.
        df.to_csv(path, index=False, encoding=EXPORT_ENCODINGS[name])
        paths[name] = path
    return paths


# ------------------------------------------------------------- scoring a cleaning run


def line_keys(transactions: pd.DataFrame) -> set[str]:
    """The ``<order no>/<line>`` keys of order lines, as ``dirty_records`` names them."""
    if transactions.empty:
        return set()
    return set(_order_keys(transactions["order_id"], transactions["line_no"]))


def score_found(
    dirty_records: pd.DataFrame,
    kind: str,
    found: set[str],
    *,
    among: set[str] | None = None,
) -> dict:
    """Score what a cleaning step found against the planted dirt of one kind.

    Parameters
    ----------
    dirty_records : DataFrame
        ``world.truth.dirty_records``.
    kind : str
        The kind of planted problem (``"outlier"``, ``"test_account"``, ...).
    found : set of str
        Keys the step flagged (customer ids, or :func:`line_keys` of order lines).
    among : set of str, optional
        Keys the step could see (e.g. the lines that reached it); planted records outside
        are not counted as missed.

    Returns
    -------
    dict
        ``planted``, ``found``, ``found_planted`` (true positives), ``found_not_planted``
        (false positives), ``recall = found_planted / planted`` and ``precision =
        found_planted / found`` (both 0 when their denominator is 0).
    """
    planted = set(dirty_records.loc[dirty_records["kind"] == kind, "key"])
    if among is not None:
        planted &= among
    hits = len(found & planted)
    return {
        "planted": len(planted),
        "found": len(found),
        "found_planted": hits,
        "found_not_planted": len(found - planted),
        "recall": hits / len(planted) if planted else 0.0,
        "precision": hits / len(found) if found else 0.0,
    }


def mapped_exports(world: World, folder: str | Path) -> tuple[dict, dict, dict[str, Path]]:
    """Write a world's raw exports to ``folder`` and read them as the cleaning study does.

    Returns
    -------
    raw : dict of str to pandas.DataFrame
        ``customers`` and ``transactions`` as read (every cell text).
    mapped : dict of str to MappedTable
        The same mapped to the contract with the simulated world's mappings.
    paths : dict of str to pathlib.Path
        The export files by name (``customers_export``, ``orders_export``).
    """
    from crm_lib.intake import io

    paths = write_raw_exports(world.raw, Path(folder) / "exports")
    raw = {
        "customers": io.read_table(paths["customers_export"]),
        "transactions": io.read_table(paths["orders_export"]),
    }
    mapped = {
        "customers": io.apply_mapping(raw["customers"], "simulated_world_customers", source="c"),
        "transactions": io.apply_mapping(raw["transactions"], "simulated_world_orders", source="o"),
    }
    return raw, mapped, paths


def format_problems_found(customers: pd.DataFrame, orders: pd.DataFrame) -> dict[tuple, int]:
    """What the table-wide format problems of the raw exports look like to a reader.

    The kinds ``date_format``, ``label_variant`` and ``amount_format`` are planted as one
    summary row per format or column (``key = "*"``), so they are counted as formats or
    columns, not rows: the date formats of :data:`DATE_FORMATS` that parse at least one
    ``Signup Date`` / ``Order Date``; the label columns (Region, Gender, Marketing
    Opt-in) with padded, upper-case or Chinese labels; the amount formats (thousands
    separator, ``¥``) seen in ``Amount``.

    Parameters
    ----------
    customers, orders : pandas.DataFrame
        ``customers_export`` and ``orders_export`` as read (text columns).

    Returns
    -------
    dict
        ``{(table, kind): count}`` with table ``customers`` or ``orders``.
    """

    def formats(dates: pd.Series) -> int:
        seen = dates.dropna().drop_duplicates()  # a format is seen or not
        return sum(
            bool(pd.to_datetime(seen, format=fmt, errors="coerce").notna().any())
            for fmt, _ in DATE_FORMATS.values()
        )

    def styled(labels: pd.Series) -> bool:
        text = labels.dropna().astype(str)
        return bool(
            text.str.strip().ne(text).any()
            or text.str.contains(r"[A-Z\u4e00-\u9fff]", regex=True).any()
        )

    amount = orders["Amount"].dropna().astype(str)
    return {
        ("customers", "date_format"): formats(customers["Signup Date"]),
        ("orders", "date_format"): formats(orders["Order Date"]),
        ("customers", "label_variant"): sum(styled(customers[c]) for c in LABEL_VARIANTS),
        ("orders", "amount_format"): int(amount.str.contains(",", regex=False).any())
        + int(amount.str.contains("¥", regex=False).any()),
    }


def planted_vs_found(dirty_records: pd.DataFrame, found: dict[tuple, tuple]) -> pd.DataFrame:
    """One row per planted kind of problem: how many were planted, how many were found.

    Parameters
    ----------
    dirty_records : pandas.DataFrame
        ``world.truth.dirty_records`` (``table, key, kind, detail``).
    found : dict
        ``{(table, kind): (count found, how it was found)}``; a kind missing from it is
        shown as not looked for (found missing, method empty).

    Returns
    -------
    pandas.DataFrame
        ``table, kind, planted, found, method``, in the order of ``(table, kind)``
        (tables as ``dirty_records`` names them: ``customers``, ``orders``).
    """
    out = dirty_records.groupby(["table", "kind"]).size().rename("planted").reset_index()
    got = [found.get((t, k)) for t, k in zip(out["table"], out["kind"], strict=True)]
    out["found"] = pd.array([g[0] if g else pd.NA for g in got], dtype="Int64")
    out["method"] = [g[1] if g else "" for g in got]
    return out
