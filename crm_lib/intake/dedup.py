"""Customer de-duplication (record linkage) with splink: one master id per person.

A CRM system collects the same person more than once: a second account opened with the
e-mail typed in capitals, the phone written with spaces, the name typed again with a slip.
:func:`deduplicate_customers` finds these accounts in the ``customers`` contract table,
groups them, and names the master of each group; :meth:`DedupResult.apply` returns one row
per master and :func:`reattribute` moves the orders of merged accounts to their master.

>>> import pandas as pd
>>> customers = pd.DataFrame({
...     "customer_id": ["C1", "C2", "C3"],
...     "name": ["Ann Lee", "ann  lee", "Bo Chen"],
...     "email": ["ann.lee@example.com", " ANN.LEE@example.com", "bo@example.com"],
...     "phone": ["+8613812345678", "138 1234 5678", None],
...     "signup_at": pd.to_datetime(["2024-01-02", "2024-01-05", "2024-01-03"], utc=True),
... })
>>> result = deduplicate_customers(customers)
>>> result.master[["customer_id", "master_id"]].to_dict("list")
{'customer_id': ['C1', 'C2', 'C3'], 'master_id': ['C1', 'C1', 'C3']}
>>> result.merge_log[["customer_id", "master_id", "rule"]].to_dict("records")
[{'customer_id': 'C2', 'master_id': 'C1', 'rule': 'exact_email_phone'}]

Method
------
1. **Standardise** with the cleaning helpers of the package, so that the comparison sees
   what the cleaning step produces: :func:`crm_lib.intake.cleaning.normalize_email` (trim, NFKC,
   lower case), :func:`crm_lib.intake.cleaning.normalize_phone` (Chinese mobiles to E.164) and
   :func:`crm_lib.intake.cleaning.normalize_text` for names, then case-folded with runs of white
   space collapsed (a comparison key, not a cleaned value). An e-mail address or phone
   number carried by more than ``max_shared`` records is a placeholder (``noemail@...``, a
   shop's phone) and is not used as evidence.
2. **Block** (generate candidate pairs) on the exact normalised e-mail and on the exact
   normalised phone. Pairs that share neither cannot reach the threshold on a name alone
   (Chinese names repeat a lot: about half of the names of a 20,000-customer world are
   shared by someone else), so they are not scored.
3. **Compare** each pair on three fields (splink comparison vector ``gamma``):
   e-mail (exact / same user name, other domain / different / missing), phone
   (exact / different / missing) and name (exact after case folding / one edit apart /
   similar / different / missing). "One edit" is the Damerau-Levenshtein distance
   (insertion, deletion, substitution or swap of two adjacent characters) counted in
   *characters*; "similar" is a character Jaro-Winkler similarity >= 0.88 between names
   that share their first or last character and differ in length by at most 2. DuckDB's
   string distances count UTF-8 *bytes*, which makes a one-character slip in a Chinese
   name three edits apart; the SQL macros below recode each pair of names to one ASCII
   character per distinct character first, so the distances count characters in every
   script (a look-alike character ``朱超华``/``朱超桦`` or a dropped one ``张娟平``/``张娟``
   is one edit, as is ``Ethan``/``tEhan``).
4. **Score** with the Fellegi-Sunter model: u probabilities from a seeded random sample of
   ``max_pairs_u`` record pairs (levels the sample does not see keep their prior; the prior
   u of an exact identifier is the share of all pairs that agree on it), m probabilities by
   expectation maximisation within the e-mail and the phone blocks, smoothed additively
   (``(m + 0.01) / (1 + 0.01 K)`` for K levels: a block of near-certain matches never shows
   a changed phone, and an unsmoothed m of ~0 would veto such a pair with weight -50), and
   the prior match probability from the pairs the exact rules find, assuming they find
   ``rule_recall`` of all true pairs. Tables of fewer than 200 records keep the prior m and
   u values (``params_['source']`` says which).
5. **Accept** a pair when either

   - an *exact rule* fires: the normalised e-mail or phone is identical, the other
     identifier does not contradict it (missing on a side, or equal; for the e-mail, the
     same user name at another domain also does not contradict) and the names are not
     different (at least "similar"); rule ``exact_email_phone``, ``exact_email`` or
     ``exact_phone``. These pairs do not depend on how well EM converged; or
   - the match probability is at least ``threshold`` (rule ``match_probability``), which
     decides the pairs with conflicting evidence (same e-mail, different phone, ...).

6. **Cluster** the accepted pairs into connected components; the **master** of a
   component is its earliest sign-up (ties and missing sign-up times: smallest id), so
   master ids do not depend on row order and do not change when a later duplicate
   appears.

How it was validated
--------------------
Against the ground truth of the dirty simulated world
(``crm_lib.datasets.simulate(size, seed, dirty=True)``; ``world.truth.dirty_records`` rows
of kind ``duplicate_customer`` give the duplicate id as ``key`` and the original id as
``detail``), with the customers export read through the shipped mapping
(:func:`crm_lib.intake.io.apply_mapping`, ``simulated_world_customers``), as notebooks 01/02 do.
Pairs of which a record was quarantined by the mapping are not counted. The simulator
(:mod:`crm_lib.datasets.dirt`) makes a duplicate of ~3% of customers with a new id and

- name (``_typo_name``): Latin names get two adjacent letters swapped (never across the
  space), or are written all lower case, all upper case or with the last name in lower
  case; Chinese names get a look-alike character from a fixed confusable table, or
  (names of 3+ characters) one character dropped;
- e-mail (``_messy_email``): upper-cased and/or padded with 0-1 leading and 1-2 trailing
  spaces (missing stays missing);
- phone (``_messy_phone``): ``138 1234 5678``, ``+86-138-1234-5678`` or the bare 11
  digits;
- sign-up 1-7 days after the original (not used for matching).

At 20,000 customers the simulated world also has ~80 pairs of *different* people with the
same e-mail address (addresses are built from the surname and four digits), mostly with
different phones and similar names (same surname) - the cases the probabilistic step must
reject. To show that the method is not fitted to these particular
slips, ``tests/intake/test_dedup.py`` also plants duplicates with an independent typo model
written in the test: a random single-character deletion, insertion or substitution in
Latin names, an inserted space or a dropped character in Chinese names, random mixed case,
tabs, no-break spaces and full-width characters in e-mails, phones written with dots, in
brackets, with the ``0086`` prefix or in full-width digits, and one of the two identifiers
removed from some duplicates (never both), sign-up up to 90 days later.

Measured with the defaults (pairwise, over all pairs of ids that share a master):

============================================  ==========  =====  =========  ======
world                                         true pairs  found  precision  recall
============================================  ==========  =====  =========  ======
simulated, ``"small"``, seeds 1-6             46-63       46-63  1.000      1.000
simulated, 20,000 customers, seed 4           514         515    0.996      0.998
simulated, 20,000 customers, seed 7           494         495    0.992      0.994
independent typo model, 5,000 + 250, 3 runs   250         250    1.000      1.000
============================================  ==========  =====  =========  ======

The tests assert precision and recall >= 0.95 for three small seeds, the 20,000-customer
world and the independent model. Without the exact rules (match probability >= 0.95
alone) the figures are the same for small seed 1 and 20,000/seed 4, so the rules are a
safeguard, not the source of the accuracy. The misses are duplicates without e-mail and
phone (nothing but a common name to go on); the false pairs are different people with the
same e-mail address and a similar name whose phone is missing or who share the name
exactly. Not found by design: a duplicate whose e-mail *and* phone both changed or are
missing (no candidate pair).

Results are deterministic (the u sample is seeded and hash-based on the ids, DuckDB runs
on one thread, the input is sorted by id first, so row order changes nothing) and quiet
(splink's log messages and warnings are silenced during the call, no progress bars).

Notes
-----
The match weight of a pair with comparison vector :math:`\\gamma` is

.. math::

    w = \\log_2 \\frac{\\lambda}{1 - \\lambda}
        + \\sum_k \\log_2 \\frac{m_{k,\\gamma_k}}{u_{k,\\gamma_k}},
    \\qquad p = \\frac{2^w}{1 + 2^w},

with :math:`m_{k,l} = P(\\gamma_k = l \\mid \\text{match})`,
:math:`u_{k,l} = P(\\gamma_k = l \\mid \\text{non-match})` and :math:`\\lambda` the prior
probability that two random records match; missing values contribute nothing.

Why splink: ``recordlinkage`` 0.16 requires pandas < 3 and is not usable here; splink is
maintained and runs on DuckDB, the engine the package already uses.

References
----------
Fellegi, I. P., & Sunter, A. B. (1969). A theory for record linkage. *Journal of the
American Statistical Association*, 64(328), 1183-1210.

Linacre, R., Lindsay, S., Manassis, T., Slade, Z., Hepworth, T., Kennedy, R., & Bond, A.
(2022). Splink: Free software for probabilistic record linkage at scale. *International
Journal of Population Data Science*, 7(3).

Winkler, W. E. (1990). String comparator metrics and enhanced decision rules in the
Fellegi-Sunter model of record linkage. *Proceedings of the Section on Survey Research
Methods*, American Statistical Association, 354-359.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crm_lib.intake import cleaning

__all__ = [
    "DEFAULT_THRESHOLD",
    "MATCH_RULES",
    "MERGE_LOG_COLUMNS",
    "PAIR_COLUMNS",
    "DedupError",
    "DedupResult",
    "deduplicate_customers",
    "reattribute",
]

#: Why a pair of records is merged (``pairs.rule``), strongest first: an exact e-mail and
#: phone, an exact e-mail, an exact phone (each with compatible other fields), or a match
#: probability at the threshold or above.
MATCH_RULES = ("exact_email_phone", "exact_email", "exact_phone", "match_probability")

DEFAULT_THRESHOLD = 0.95
"""Default match probability at or above which a pair is accepted."""

PAIR_COLUMNS = [
    "customer_id_l",
    "customer_id_r",
    "match_probability",
    "match_weight",
    "email_agreement",
    "phone_agreement",
    "name_agreement",
    "rule",
]
"""Columns of :attr:`DedupResult.pairs` (ids and scores only, no personal data)."""

MERGE_LOG_COLUMNS = [
    "customer_id",
    "master_id",
    "linked_to",
    "match_probability",
    "match_weight",
    "email_agreement",
    "phone_agreement",
    "name_agreement",
    "rule",
    "threshold",
]
"""Columns of :attr:`DedupResult.merge_log` (ids and scores only, no personal data)."""

# Agreement labels by comparison and splink comparison-vector value (gamma); -1 = missing.
_AGREEMENT = {
    "email": {-1: "missing", 0: "different", 1: "same_user_name", 2: "exact"},
    "phone": {-1: "missing", 0: "different", 1: "exact"},
    "name": {-1: "missing", 0: "different", 1: "similar", 2: "one_edit", 3: "exact"},
}

# Prior m and u probabilities (levels in order exact -> different), used when the table is
# too small to train on. m: share of true duplicate pairs in the level; u: share of random
# pairs of different people.
_PRIORS = {
    "email": {"m": [0.85, 0.02, 0.13], "u": [1e-4, 1e-4, 0.9998]},
    "phone": {"m": [0.90, 0.10], "u": [1e-4, 0.9999]},
    "name": {"m": [0.55, 0.30, 0.10, 0.05], "u": [0.005, 0.02, 0.05, 0.925]},
}
_PRIOR_MATCH = 1e-4  # prior probability that two random records match

_NAME_SIMILAR_JW = 0.88
_MIN_TRAIN_RECORDS = 200  # fewer records: keep the priors
_MIN_EM_PAIRS = 20  # fewer blocked pairs in a training block: no EM on that block
_M_SMOOTHING = 0.01  # additive smoothing of trained m probabilities

# DuckDB string distances count UTF-8 bytes; these macros recode both names of a pair to
# one ASCII character per distinct character (a bijection), so distances count characters.
_MACROS = [
    """create or replace macro crm_dedup_chars(a, b) as
        list_distinct(list_concat(string_split(a, ''), string_split(b, '')))""",
    """create or replace macro crm_dedup_recode(s, u) as
        array_to_string(list_transform(string_split(s, ''),
                                       lambda ch: chr(32 + list_position(u, ch))), '')""",
    """create or replace macro crm_dedup_char_dl(a, b) as
        damerau_levenshtein(crm_dedup_recode(a, crm_dedup_chars(a, b)),
                            crm_dedup_recode(b, crm_dedup_chars(a, b)))""",
    """create or replace macro crm_dedup_char_jw(a, b) as
        jaro_winkler_similarity(crm_dedup_recode(a, crm_dedup_chars(a, b)),
                                crm_dedup_recode(b, crm_dedup_chars(a, b)))""",
    # One edit leaves the first or the last character in place, except a swap of the two
    # characters of a two-character name; the cheap test runs first.
    """create or replace macro crm_dedup_one_edit(a, b) as
        abs(length(a) - length(b)) <= 1
        and (left(a, 1) = left(b, 1) or right(a, 1) = right(b, 1) or a = reverse(b))
        and crm_dedup_char_dl(a, b) <= 1""",
    f"""create or replace macro crm_dedup_similar(a, b) as
        abs(length(a) - length(b)) <= 2
        and (left(a, 1) = left(b, 1) or right(a, 1) = right(b, 1))
        and crm_dedup_char_jw(a, b) >= {_NAME_SIMILAR_JW}""",
]


class DedupError(ValueError):
    """The customers table cannot be de-duplicated as given (message says what to fix)."""


# ---------------------------------------------------------------------------- result


@dataclass
class DedupResult:
    """Result of :func:`deduplicate_customers`.

    Attributes
    ----------
    master : pandas.DataFrame
        One row per input record, sorted by id: ``customer_id`` (the input id, whatever
        ``id_col`` was called), ``master_id``, ``is_master`` and ``cluster_size``.
    merge_log : pandas.DataFrame
        One row per merged (non-master) id, columns :data:`MERGE_LOG_COLUMNS`:
        ``customer_id``, ``master_id``, ``linked_to`` (the record of the strongest
        accepted pair that links it into its group), ``match_probability``,
        ``match_weight``, ``email_agreement`` / ``phone_agreement`` / ``name_agreement``
        (``exact``, ``one_edit``, ``similar``, ``same_user_name``, ``different`` or
        ``missing``), ``rule`` and ``threshold``. Ids and scores only: no names, e-mail
        addresses or phone numbers, so it can go into reports.
    pairs : pandas.DataFrame
        Every accepted pair, columns :data:`PAIR_COLUMNS` (``customer_id_l <
        customer_id_r``), ids and scores only.
    params_ : pandas.DataFrame
        The model: ``comparison``, ``level``, ``m_probability``, ``u_probability``,
        ``match_weight`` (:math:`\\log_2 m/u`) and ``source`` (``trained`` when the model
        was trained - a level the training pairs never showed keeps its prior even then -
        or ``prior`` for tables too small to train on), plus one row ``prior`` with the
        probability that two random records match.
    threshold : float
        Match probability threshold used.
    id_col, signup_col : str
        Names of the id and sign-up columns of the input table.
    """

    master: pd.DataFrame
    merge_log: pd.DataFrame
    pairs: pd.DataFrame
    params_: pd.DataFrame
    threshold: float
    id_col: str = "customer_id"
    signup_col: str = "signup_at"

    def summary(self) -> pd.DataFrame:
        """Counts: records, masters, merged records, accepted pairs by rule (one row)."""
        by_rule = self.pairs["rule"].value_counts()
        return pd.DataFrame(
            [
                {
                    "records": len(self.master),
                    "masters": int(self.master["is_master"].sum()),
                    "merged": len(self.merge_log),
                    "pairs": len(self.pairs),
                    **{f"pairs_{rule}": int(n) for rule, n in sorted(by_rule.items())},
                    "threshold": self.threshold,
                }
            ]
        )

    def linked_pairs(self) -> set[tuple[str, str]]:
        """Every pair of input ids (sorted) that share a master: the merges' closure."""
        return _pairs_within(self.master.groupby("master_id")["customer_id"].agg(list))

    def evaluate(self, links: Iterable[tuple[str, str]]) -> dict[str, float | int]:
        r"""Pairwise precision and recall against known duplicate links.

        Parameters
        ----------
        links : iterable of (id, id)
            Known links, e.g. ``(duplicate_id, original_id)`` from the simulated world's
            ``truth.dirty_records``. They are closed transitively (two copies of one
            original are a true pair too) and restricted to ids of this result.

        Returns
        -------
        dict
            ``true_pairs``, ``found_pairs``, ``found_true_pairs``, ``precision`` =
            found true / found, ``recall`` = found true / true (1.0 when there is nothing
            to find or nothing was found).

        Notes
        -----
        Pairwise measures of entity resolution (Christen, 2012, *Data Matching*, ch. 7):
        with :math:`F` the linked pairs and :math:`T` the true ones,
        :math:`P = |F \cap T| / |F|` and :math:`R = |F \cap T| / |T|`.
        """
        known = set(self.master["customer_id"].astype(str))
        parent: dict[str, str] = {}

        def root(i: str) -> str:
            while parent.get(i, i) != i:
                i = parent[i]
            return i

        nodes: set[str] = set()
        for a, b in links:
            a, b = str(a), str(b)
            if a in known and b in known:
                nodes.update((a, b))
                ra, rb = root(a), root(b)
                if ra != rb:
                    parent[ra] = rb
        groups: dict[str, list[str]] = {}
        for i in nodes:
            groups.setdefault(root(i), []).append(i)
        truth = _pairs_within(groups.values())
        found = self.linked_pairs()
        hits = len(found & truth)
        return {
            "true_pairs": len(truth),
            "found_pairs": len(found),
            "found_true_pairs": hits,
            "precision": hits / len(found) if found else 1.0,
            "recall": hits / len(truth) if truth else 1.0,
        }

    def master_map(self) -> pd.Series:
        """``master_id`` indexed by input id."""
        return pd.Series(
            self.master["master_id"].to_numpy(),
            index=pd.Index(self.master["customer_id"].to_numpy(), name=self.id_col),
            name="master_id",
        )

    def apply(self, customers: pd.DataFrame, *, fill_missing: bool = True) -> pd.DataFrame:
        """The de-duplicated customers table: one row per master.

        Parameters
        ----------
        customers : pandas.DataFrame
            The table that was de-duplicated (same id column); ids the result does not
            know are kept as their own master.
        fill_missing : bool
            Fill a master's missing values from the other records of its group (the
            earliest sign-up first), e.g. a phone number given only on the second
            account. False keeps the master's row as it is.

        Returns
        -------
        pandas.DataFrame
            The master rows (same columns, dtypes and index labels as ``customers``), in
            input order.
        """
        _require(customers, [self.id_col])
        ids = customers[self.id_col].astype("str")
        master = ids.map(self.master_map()).fillna(ids)
        is_master = (master == ids).to_numpy()
        out = customers.loc[is_master].copy()
        if not fill_missing or len(out) == len(customers):
            return out
        # Group members: the master first, then by sign-up time (missing last), then id.
        members = pd.DataFrame({"master": master.to_numpy(), "other": ~is_master, "id": ids})
        sort_cols = ["master", "other", "signup", "id"]
        if self.signup_col in customers.columns:
            members["signup"] = pd.to_datetime(customers[self.signup_col], utc=True).to_numpy()
        else:
            sort_cols.remove("signup")
        order = members.reset_index(drop=True).sort_values(sort_cols, kind="stable").index
        first = customers.iloc[order].groupby(master.iloc[order].to_numpy(), sort=True).first()
        key = out[self.id_col].astype("str").to_numpy()
        for col in customers.columns:
            if col == self.id_col or not out[col].isna().any():
                continue
            fill = pd.Series(first[col].reindex(key).to_numpy(), index=out.index)
            out[col] = out[col].fillna(fill.astype(out[col].dtype, errors="ignore"))
        return out


# ------------------------------------------------------------------------- helpers


def _pairs_within(groups: Iterable[Iterable[str]]) -> set[tuple[str, str]]:
    """Every pair of ids (sorted) within each group."""
    out: set[tuple[str, str]] = set()
    for members in groups:
        ids = sorted(set(members))
        out.update((a, b) for n, a in enumerate(ids) for b in ids[n + 1 :])
    return out


def _require(data: pd.DataFrame, cols: Sequence[str], what: str = "customers") -> None:
    if not isinstance(data, pd.DataFrame):
        raise DedupError(f"{what} must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise DedupError(
            f"{what} has no column {', '.join(repr(c) for c in missing)} "
            f"(available: {list(data.columns)}); pass the right name, e.g. "
            "email_col='Email', or map the export to the contract first "
            "(crm_lib.intake.io.apply_mapping)"
        )


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence splink's log messages and warnings (no spam in notebooks)."""
    logger = logging.getLogger("splink")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"splink(\.|$)")
            yield
    finally:
        logger.setLevel(level)


def _blank_to_na(s: pd.Series) -> pd.Series:
    s = s.astype("string")
    return s.mask(s.str.len() == 0)


def _placeholders(s: pd.Series, max_shared: int) -> pd.Series:
    counts = s.map(s.value_counts())
    return s.mask(counts > max_shared)


def _standardise(
    customers: pd.DataFrame,
    *,
    id_col: str,
    name_col: str,
    email_col: str,
    phone_col: str,
    signup_col: str,
    max_shared: int,
) -> pd.DataFrame:
    """unique_id, name, email, phone (comparison keys) and signup, sorted by id."""
    ids = customers[id_col]
    if ids.isna().any():
        raise DedupError(f"customers.{id_col} has {int(ids.isna().sum())} missing id(s)")
    ids = ids.astype("str")
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].unique()[:5].tolist()
        raise DedupError(
            f"customers.{id_col} is not unique (e.g. {dup}); de-duplicate the key first "
            "(crm_lib.intake.io.apply_mapping quarantines repeated keys)"
        )
    signup = customers[signup_col]
    if not pd.api.types.is_datetime64_any_dtype(signup):
        try:
            signup = pd.to_datetime(signup, utc=True)
        except (ValueError, TypeError) as exc:
            raise DedupError(
                f"customers.{signup_col} is not a timestamp column ({exc}); parse it first "
                "(crm_lib.intake.io.apply_mapping does)"
            ) from None
    name = cleaning.normalize_text(customers[name_col]).astype("string")
    name = name.str.casefold().str.replace(r"\s+", " ", regex=True)
    email = _placeholders(_blank_to_na(cleaning.normalize_email(customers[email_col])), max_shared)
    phone = _placeholders(_blank_to_na(cleaning.normalize_phone(customers[phone_col])), max_shared)
    frame = pd.DataFrame(
        {
            "unique_id": ids.to_numpy(dtype=object),
            "name": _blank_to_na(name).to_numpy(dtype=object),
            "email": email.to_numpy(dtype=object),
            "phone": phone.to_numpy(dtype=object),
            "signup": pd.DatetimeIndex(signup).as_unit("us"),
        }
    )
    for c in ("name", "email", "phone"):
        frame[c] = frame[c].where(frame[c].notna(), None)
    return frame.sort_values("unique_id", kind="stable").reset_index(drop=True)


def _levels(column: str, specs: list[tuple[str, str]], priors: dict) -> list[dict[str, Any]]:
    """splink comparison levels as dicts: the null level, ``specs``, then the else level."""
    left, right = f'"{column}_l"', f'"{column}_r"'
    levels: list[dict[str, Any]] = [
        {
            "sql_condition": f"{left} IS NULL OR {right} IS NULL",
            "label_for_charts": "missing",
            "is_null_level": True,
        }
    ]
    ms, us = priors["m"], priors["u"]
    for (label, sql), m, u in zip(specs, ms[:-1], us[:-1], strict=True):
        levels.append(
            {
                "sql_condition": sql.format(l=left, r=right),
                "label_for_charts": label,
                "m_probability": m,
                "u_probability": u,
            }
        )
    levels.append(
        {
            "sql_condition": "ELSE",
            "label_for_charts": "different",
            "m_probability": ms[-1],
            "u_probability": us[-1],
        }
    )
    return levels


def _agree_share(values: pd.Series) -> float:
    """Share of record pairs with the same (non-missing) value: a prior for u of "exact"."""
    n = len(values)
    return max(_pair_count(values) / (n * (n - 1) / 2), 1e-6) if n > 1 else 1e-4


def _prior(column: str, frame: pd.DataFrame) -> dict[str, list[float]]:
    """Prior m and u of a comparison; u of the identifiers' "exact" level from the data."""
    priors = {k: list(v) for k, v in _PRIORS[column].items()}
    if column in ("email", "phone"):
        u = min(_agree_share(frame[column]), 0.5)
        priors["u"][0] = u
        priors["u"][-1] = 1 - sum(priors["u"][:-1])
    return priors


def _comparisons(frame: pd.DataFrame) -> list:
    import splink.comparison_library as cl

    email = _levels(
        "email",
        [
            ("exact", "{l} = {r}"),
            ("same_user_name", "split_part({l}, '@', 1) = split_part({r}, '@', 1)"),
        ],
        _prior("email", frame),
    )
    phone = _levels("phone", [("exact", "{l} = {r}")], _prior("phone", frame))
    name = _levels(
        "name",
        [
            ("exact", "{l} = {r}"),
            ("one_edit", "crm_dedup_one_edit({l}, {r})"),
            ("similar", "crm_dedup_similar({l}, {r})"),
        ],
        _PRIORS["name"],
    )
    return [
        cl.CustomComparison(email, output_column_name="email"),
        cl.CustomComparison(phone, output_column_name="phone"),
        cl.CustomComparison(name, output_column_name="name"),
    ]


def _smooth_m(model: dict, alpha: float = _M_SMOOTHING) -> dict:
    """Additive smoothing of the m probabilities: (m + alpha) / (1 + alpha * levels)."""
    for comp in model["comparisons"]:
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        for lv in levels:
            m = lv.get("m_probability")
            if isinstance(m, int | float):
                lv["m_probability"] = (m + alpha) / (1 + alpha * len(levels))
    return model


def _pair_count(values: pd.Series) -> int:
    counts = values.dropna().value_counts()
    return int((counts * (counts - 1) // 2).sum())


def _exact_pairs(frame: pd.DataFrame) -> int:
    """Distinct pairs sharing an e-mail or a phone."""
    pairs: set[tuple[int, int]] = set()
    for col in ("email", "phone"):
        groups = frame.dropna(subset=[col]).groupby(col).indices
        for idx in groups.values():
            if len(idx) > 1:
                idx = np.sort(idx)
                pairs.update((a, b) for i, a in enumerate(idx) for b in idx[i + 1 :])
    return len(pairs)


def _params_table(model: dict, trained: bool) -> pd.DataFrame:
    rows = []
    for comp in model["comparisons"]:
        for level in comp["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            rows.append(
                {
                    "comparison": comp["output_column_name"],
                    "level": level["label_for_charts"],
                    "m_probability": m,
                    "u_probability": u,
                    "match_weight": float(np.log2(m / u)) if m and u else np.nan,
                    "source": "trained" if trained else "prior",
                }
            )
    lam = model["probability_two_random_records_match"]
    rows.append(
        {
            "comparison": "prior",
            "level": "probability_two_random_records_match",
            "m_probability": lam,
            "u_probability": np.nan,
            "match_weight": float(np.log2(lam / (1 - lam))),
            "source": "trained" if trained else "prior",
        }
    )
    return pd.DataFrame(rows)


def _prior_params() -> pd.DataFrame:
    model = {
        "probability_two_random_records_match": _PRIOR_MATCH,
        "comparisons": [
            {
                "output_column_name": name,
                "comparison_levels": [
                    {"label_for_charts": label, "m_probability": m, "u_probability": u}
                    for label, m, u in zip(
                        [v for k, v in sorted(_AGREEMENT[name].items(), reverse=True) if k >= 0],
                        p["m"],
                        p["u"],
                        strict=True,
                    )
                ],
            }
            for name, p in _PRIORS.items()
        ],
    }
    return _params_table(model, trained=False)


def _score(
    frame: pd.DataFrame,
    *,
    seed: int,
    max_pairs_u: float,
    rule_recall: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scored candidate pairs (gamma values, weight, probability) and the model table."""
    import duckdb
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    con = duckdb.connect(":memory:")
    try:
        try:
            con.execute("SET enable_progress_bar = false")
        except duckdb.InvalidInputException:
            # In a Jupyter kernel without ipywidgets DuckDB refuses to touch the setting
            # at all; it then draws no bar either.
            pass
        con.execute("SET threads = 1")  # deterministic sums; polite on shared machines
        for sql in _MACROS:
            con.execute(sql)
        with _quiet():
            db_api = DuckDBAPI(connection=con)
            data = db_api.register(
                frame[["unique_id", "name", "email", "phone"]], dataset_display_name="customers"
            )
            settings = SettingsCreator(
                link_type="dedupe_only",
                unique_id_column_name="unique_id",
                probability_two_random_records_match=_PRIOR_MATCH,
                blocking_rules_to_generate_predictions=[block_on("email"), block_on("phone")],
                comparisons=_comparisons(frame),
                retain_matching_columns=True,  # needed for the gamma columns
                retain_intermediate_calculation_columns=False,
            )
            linker = Linker(data, settings, log_level=None)
            n = len(frame)
            trained = n >= _MIN_TRAIN_RECORDS
            if trained:
                n_exact = _exact_pairs(frame)
                total = n * (n - 1) / 2
                if 0 < n_exact / rule_recall < total:
                    linker.training.estimate_probability_two_random_records_match(
                        [block_on("email"), block_on("phone")], recall=rule_recall
                    )
                linker.training.estimate_u_using_random_sampling(
                    max_pairs=max_pairs_u, seed=seed, num_chunks=1
                )
                for col in ("email", "phone"):
                    if _pair_count(frame[col]) >= _MIN_EM_PAIRS:
                        linker.training.estimate_parameters_using_expectation_maximisation(
                            block_on(col)
                        )
                # EM inside a block of near-certain matches drives the m of a level it never
                # sees to ~0 (weight -50); smooth, and score with the smoothed model.
                model = _smooth_m(linker.misc.save_model_to_json())
                linker = Linker(data, model, log_level=None)
            predictions = linker.inference.predict(warning_mode="never")
            # Ids, comparison levels and scores only; the compared values stay in DuckDB.
            scored = con.sql(
                "select unique_id_l, unique_id_r, match_weight, match_probability, "
                f"gamma_email, gamma_phone, gamma_name from {predictions.physical_name}"
            ).df()
            model = linker.misc.save_model_to_json()
    finally:
        con.close()
    return scored, _params_table(model, trained)


def _accept(scored: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Accepted pairs with agreement labels and the rule that accepted them."""
    g_email = scored["gamma_email"].to_numpy()
    g_phone = scored["gamma_phone"].to_numpy()
    g_name = scored["gamma_name"].to_numpy()
    email_exact, phone_exact = g_email == 2, g_phone == 1
    email_ok, phone_ok = g_email != 0, g_phone != 0  # equal, same user name, or missing
    name_ok = g_name >= 1
    exact = (email_exact | phone_exact) & email_ok & phone_ok & name_ok
    prob = scored["match_probability"].to_numpy(dtype=float) >= threshold
    rule = np.select(
        [exact & email_exact & phone_exact, exact & email_exact, exact & phone_exact, prob],
        list(MATCH_RULES),
        default="",
    )
    ids_l = scored["unique_id_l"].astype("str").to_numpy()
    ids_r = scored["unique_id_r"].astype("str").to_numpy()
    out = pd.DataFrame(
        {
            "customer_id_l": np.minimum(ids_l, ids_r),
            "customer_id_r": np.maximum(ids_l, ids_r),
            "match_probability": scored["match_probability"].to_numpy(dtype=float),
            "match_weight": scored["match_weight"].to_numpy(dtype=float),
            "email_agreement": pd.Series(g_email).map(_AGREEMENT["email"]).to_numpy(),
            "phone_agreement": pd.Series(g_phone).map(_AGREEMENT["phone"]).to_numpy(),
            "name_agreement": pd.Series(g_name).map(_AGREEMENT["name"]).to_numpy(),
            "rule": rule,
        },
        columns=PAIR_COLUMNS,
    )
    out = out.loc[rule != ""]
    return out.sort_values(["customer_id_l", "customer_id_r"], kind="stable").reset_index(drop=True)


def _empty_pairs() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype="str") for c in PAIR_COLUMNS})
    return out.astype({"match_probability": float, "match_weight": float})


def _clusters(frame: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """master table: connected components of the accepted pairs; earliest sign-up wins."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(frame)
    if n == 0:
        return pd.DataFrame(
            {
                "customer_id": pd.Series(dtype="str"),
                "master_id": pd.Series(dtype="str"),
                "is_master": pd.Series(dtype=bool),
                "cluster_size": pd.Series(dtype=np.int64),
            }
        )
    pos = pd.Series(np.arange(n), index=frame["unique_id"].to_numpy())
    a = pos.reindex(pairs["customer_id_l"].to_numpy()).to_numpy(dtype=np.int64)
    b = pos.reindex(pairs["customer_id_r"].to_numpy()).to_numpy(dtype=np.int64)
    graph = coo_matrix((np.ones(a.shape[0]), (a, b)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    # Earliest sign-up first (missing last), then the smallest id (frame is sorted by id).
    signup = frame["signup"].to_numpy(dtype="datetime64[us]").astype(np.int64)
    signup = np.where(frame["signup"].isna().to_numpy(), np.iinfo(np.int64).max, signup)
    order = np.lexsort((np.arange(n), signup, label))
    first = order[np.r_[True, label[order][1:] != label[order][:-1]]]
    master_of_label = np.empty(label.max() + 1, dtype=np.int64)
    master_of_label[label[first]] = first
    ids = frame["unique_id"].to_numpy(dtype=object)
    master = ids[master_of_label[label]]
    size = np.bincount(label)[label]
    return pd.DataFrame(
        {
            "customer_id": pd.Series(ids, dtype="str"),
            "master_id": pd.Series(master, dtype="str"),
            "is_master": ids == master,
            "cluster_size": size.astype(np.int64),
        }
    )


def _merge_log(master: pd.DataFrame, pairs: pd.DataFrame, threshold: float) -> pd.DataFrame:
    merged = master.loc[~master["is_master"], ["customer_id", "master_id"]]
    if merged.empty:
        out = pd.DataFrame({c: pd.Series(dtype="str") for c in MERGE_LOG_COLUMNS})
        return out.astype({"match_probability": float, "match_weight": float, "threshold": float})
    both = pd.concat(
        [
            pairs.rename(columns={"customer_id_l": "customer_id", "customer_id_r": "linked_to"}),
            pairs.rename(columns={"customer_id_r": "customer_id", "customer_id_l": "linked_to"}),
        ],
        ignore_index=True,
    )
    # The strongest accepted pair of each merged id (ties: smallest linked id).
    both = both.sort_values(
        ["customer_id", "match_weight", "linked_to"], ascending=[True, False, True], kind="stable"
    ).drop_duplicates("customer_id")
    out = merged.merge(both, on="customer_id", how="left")
    out["threshold"] = float(threshold)
    return out[MERGE_LOG_COLUMNS].reset_index(drop=True)


# -------------------------------------------------------------------------- public


def deduplicate_customers(
    customers: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    name_col: str = "name",
    email_col: str = "email",
    phone_col: str = "phone",
    signup_col: str = "signup_at",
    threshold: float = DEFAULT_THRESHOLD,
    seed: int = 0,
    max_shared: int = 5,
    max_pairs_u: float = 1e5,
    rule_recall: float = 0.9,
) -> DedupResult:
    """Find the records of the same customer and name one master id per person.

    Parameters
    ----------
    customers : pandas.DataFrame
        The ``customers`` table as ingestion/cleaning produce it (raw or already
        normalised values; one row per id). Other columns are ignored.
    id_col, name_col, email_col, phone_col, signup_col : str
        Column names (defaults: the ``customers`` contract of :mod:`crm_lib.contract.schemas`).
        E-mail, phone and name may be missing (``NA`` or empty); the sign-up time may be
        missing (such a record is a master only when no other record of its group has a
        sign-up time).
    threshold : float
        Accept a pair whose match probability is at least this (in (0, 1)); pairs of the
        exact rules (see the module docstring) are accepted regardless.
    seed : int
        Seed of the random sample of record pairs that estimates the u probabilities;
        the same input and seed give identical results.
    max_shared : int
        An e-mail or phone shared by more records than this is a placeholder and is
        ignored.
    max_pairs_u : float
        Record pairs sampled to estimate the u probabilities.
    rule_recall : float
        Assumed share of true pairs that share an e-mail or a phone, for the prior
        match probability.

    Returns
    -------
    DedupResult
        ``master`` (every id -> ``master_id``), ``merge_log`` (one row per merged id, ids
        and scores only), ``pairs`` (accepted pairs), ``params_`` (m/u probabilities);
        :meth:`DedupResult.apply` gives one row per master, :func:`reattribute` moves
        orders.

    Raises
    ------
    DedupError
        A required column is missing, the id is missing or not unique, the sign-up column
        is not a time, or ``threshold`` is outside (0, 1).

    Notes
    -----
    Fellegi-Sunter match weight :math:`w = \\log_2 \\frac{\\lambda}{1-\\lambda} + \\sum_k
    \\log_2 (m_{k,\\gamma_k}/u_{k,\\gamma_k})` and probability :math:`p = 2^w/(1+2^w)`,
    estimated with splink (DuckDB); see the module docstring for blocking, comparisons,
    the exact rules and how the method was validated.

    References
    ----------
    Fellegi & Sunter (1969), JASA 64(328), 1183-1210; Linacre et al. (2022), IJPDS 7(3).

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({
    ...     "customer_id": ["C2", "C1"], "name": ["郭燕", "郭艳"],
    ...     "email": [" GUO9898@EXAMPLE.ORG ", "guo9898@example.org"],
    ...     "phone": ["+86-142-5623-1047", None],
    ...     "signup_at": pd.to_datetime(["2023-03-25", "2023-03-23"], utc=True)})
    >>> deduplicate_customers(customers).master_map().to_dict()
    {'C1': 'C1', 'C2': 'C1'}
    """
    _require(customers, [id_col, name_col, email_col, phone_col, signup_col])
    if not 0 < threshold < 1:
        raise DedupError(f"threshold must be a match probability in (0, 1), got {threshold!r}")
    frame = _standardise(
        customers,
        id_col=id_col,
        name_col=name_col,
        email_col=email_col,
        phone_col=phone_col,
        signup_col=signup_col,
        max_shared=max_shared,
    )
    has_candidates = frame["email"].notna().sum() + frame["phone"].notna().sum() > 1
    if len(frame) >= 2 and has_candidates:
        scored, params = _score(frame, seed=seed, max_pairs_u=max_pairs_u, rule_recall=rule_recall)
        pairs = _accept(scored, threshold) if len(scored) else _empty_pairs()
    else:
        pairs, params = _empty_pairs(), _prior_params()
    master = _clusters(frame, pairs)
    return DedupResult(
        master=master,
        merge_log=_merge_log(master, pairs, threshold),
        pairs=pairs,
        params_=params,
        threshold=float(threshold),
        id_col=id_col,
        signup_col=signup_col,
    )


def reattribute(
    transactions: pd.DataFrame,
    result: DedupResult,
    customer_col: str = "customer_id",
    *,
    original_col: str | None = None,
) -> pd.DataFrame:
    """Move the orders of merged customer ids to their master id.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Any table with a customer id column (transactions, events, ...).
    result : DedupResult
        From :func:`deduplicate_customers`.
    customer_col : str
        The customer id column of ``transactions``.
    original_col : str, optional
        Also keep the id as booked in this new column (default: no extra column, so a
        contract table stays within its contract).

    Returns
    -------
    pandas.DataFrame
        A copy with ``customer_col`` replaced by the master id; ids the result does not
        merge (masters, unknown ids, missing values) are unchanged. Same rows, index and
        dtypes.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["Ann", "ann"],
    ...     "email": ["a@example.com", "A@example.com "], "phone": [None, None],
    ...     "signup_at": pd.to_datetime(["2024-01-01", "2024-02-01"], utc=True)})
    >>> tx = pd.DataFrame({"order_id": ["O1", "O2"], "customer_id": ["C2", "C9"]})
    >>> reattribute(tx, deduplicate_customers(customers))["customer_id"].tolist()
    ['C1', 'C9']
    """
    _require(transactions, [customer_col], "transactions")
    merged = result.merge_log.set_index("customer_id")["master_id"]
    out = transactions.copy()
    ids = out[customer_col]
    new = ids.astype("str").map(merged)
    moved = new.notna() & ids.notna()
    if original_col is not None:
        out[original_col] = ids
    if moved.any():
        out[customer_col] = ids.mask(moved, new).astype(ids.dtype)
    return out
