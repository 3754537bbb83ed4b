"""Attribution models: heuristics, the absorbing Markov chain and Shapley values.

Every model shares out conversions among channels. Each is written for a batch of count
vectors (``conv``, ``nulls``: replicates x distinct paths), so that the bootstrap
(:func:`crm_lib.attribution.bootstrap_shares`) re-weights the distinct paths instead of
rebuilding the journeys. The public functions return one tidy row per channel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import linalg as sparse_linalg

from crm_lib.attribution.journeys import Journeys

__all__ = [
    "HEURISTICS",
    "MODELS",
    "MarkovResult",
    "heuristic_attribution",
    "markov_attribution",
    "shapley_attribution",
]

HEURISTICS = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "time_decay",
    "position_based",
    "w_shaped",
)
MODELS = (*HEURISTICS, "markov", "shapley_path", "shapley_incremental")
"""The models of :func:`crm_lib.attribution.attribute`, in the order of the report."""


# ------------------------------------------------------------------------ heuristics


def _position_weights(j: Journeys, model: str, direct_channel: str | None) -> np.ndarray:
    """Weight of each touch of each distinct path (sums to 1 per path)."""
    pos, n = j._touch["pos"], j._touch["length"]
    first, last = pos == 0, pos == n - 1
    if model == "first_touch":
        return first.astype(float)
    if model == "last_touch":
        return last.astype(float)
    if model == "linear":
        return 1.0 / n
    if model == "last_non_direct":
        is_direct = (
            np.zeros(pos.shape, bool)
            if direct_channel not in j.channels
            else j._touch["channel"] == j.channels.index(direct_channel)
        )
        cand = np.where(is_direct, -1, pos)
        best = np.full(len(j.paths), -1)
        np.maximum.at(best, j._touch["path"], cand)
        best = np.where(best < 0, np.bincount(j._touch["path"]) - 1, best)  # all direct: last
        return (pos == best[j._touch["path"]]).astype(float)
    if model == "position_based":  # U-shaped 40/20/40
        middle = np.where(n > 2, 0.2 / np.maximum(n - 2, 1), 0.0)
        end = np.where(n == 1, 1.0, np.where(n == 2, 0.5, 0.4))
        return np.where(first | last, end, middle)
    if model == "w_shaped":  # 30/30/30 first, lead (middle) and last touch, 10 to the rest
        lead = pos == (n - 1) // 2
        key = first | last | lead
        w = np.where(key, 0.3, 0.1 / np.maximum(n - 3, 1))
        return np.where(n <= 3, 1.0 / n, w)
    raise ValueError(f"unknown heuristic {model!r}; one of {', '.join(HEURISTICS)}")


def _credit_matrix(j: Journeys, model: str, direct_channel: str | None) -> np.ndarray:
    """Credit per conversion, distinct path x channel (rows sum to 1)."""
    P, k = len(j.paths), j.k
    if model == "time_decay" and j._decay_matrix is not None:
        conv = j.paths["conversions"].to_numpy(float)[:, None]
        h = j._decay_matrix
        return np.divide(h, conv, out=np.zeros_like(h), where=conv > 0)
    if model == "time_decay":
        if j.decay is None:
            raise ValueError("time decay needs the journeys' touch times: use build_journeys")
        d = j.decay
        rows = pd.Index(j.paths["path"]).get_indexer(d["path"])
        cols = pd.Index(j.channels).get_indexer(d["channel"])
        h = np.zeros((P, k))
        np.add.at(h, (rows, cols), d["credit"].to_numpy(float))
        conv = j.paths["conversions"].to_numpy(float)
        return np.divide(h, conv[:, None], out=np.zeros_like(h), where=conv[:, None] > 0)
    w = np.broadcast_to(_position_weights(j, model, direct_channel), j._touch["pos"].shape)
    flat = j._touch["path"] * k + j._touch["channel"]
    return np.bincount(flat, weights=w, minlength=P * k).reshape(P, k)


def heuristic_attribution(
    journeys: Journeys, model: str = "last_touch", *, direct_channel: str = "direct"
) -> pd.DataFrame:
    """Conversions credited to each channel by a rule on the touches' positions or times.

    Parameters
    ----------
    journeys : Journeys
    model : str
        ``first_touch`` (all to the first touch), ``last_touch``, ``last_non_direct``
        (the last touch that is not ``direct_channel``; a path of direct touches only
        keeps its last touch), ``linear`` (:math:`1/n` to each of the :math:`n` touches),
        ``time_decay`` (touch :math:`i` weighs :math:`2^{-\\Delta t_i/h}`, normalised,
        :math:`\\Delta t_i` the days before the conversion, :math:`h` the half-life),
        ``position_based`` (U-shaped: 40% first, 40% last, 20% shared by the others; one
        touch 100%, two 50/50), ``w_shaped`` (30% each to the first, the lead-creation
        and the last touch, 10% shared by the others; the lead touch is taken as the
        middle one, position :math:`\\lfloor (n-1)/2 \\rfloor`, when the data do not mark
        it; up to three touches share equally).

    Returns
    -------
    DataFrame
        ``channel, conversions, share``.

    References
    ----------
    Google Analytics Help, "About attribution models" (first, last, linear, time
    decay, position-based); Kannan, Reinartz & Verhoef (2016), IJRM 33(3), 449-456.
    """
    h = _credit_matrix(journeys, model, direct_channel)
    credit = journeys.paths["conversions"].to_numpy(float) @ h
    return _table(journeys, credit)


def _table(j: Journeys, credit: np.ndarray, **before: np.ndarray) -> pd.DataFrame:
    """``channel``, the columns ``before`` (if any), ``conversions``, ``share``."""
    total = credit.sum()
    return pd.DataFrame(
        {
            "channel": j.channels,
            **before,
            "conversions": credit,
            "share": credit / total if total > 0 else np.full(len(credit), np.nan),
        }
    )


# -------------------------------------------------------------------------- Markov


class MarkovResult:
    """A fitted absorbing Markov chain of the journeys (see :func:`markov_attribution`).

    Attributes
    ----------
    conversion_probability : float
        :math:`P(\\text{conversion})` from the start state.
    removal : DataFrame
        ``channel, p_without, removal_effect, conversions, share``.
    states : list of tuple
        The transient states (``()`` is the start).
    """

    def __init__(self, conversion_probability, removal, states, order):
        self.conversion_probability = conversion_probability
        self.removal = removal
        self.states = states
        self.order = order

    def summary(self) -> pd.DataFrame:
        return self.removal.copy()


def _markov_states(j: Journeys, order: int):
    """Transient state of each touch (tuple of the last ``order`` channels), as ids."""
    ch, pos = j._touch["channel"], j._touch["pos"]
    k1 = j.k + 1
    code = np.zeros(ch.shape[0], dtype=np.int64)
    for lag in range(order):  # code = sum over lags of (channel + 1) * k1^lag
        idx = np.arange(ch.shape[0]) - lag
        ok = pos >= lag
        code += np.where(ok, ch[np.where(ok, idx, 0)] + 1, 0) * k1**lag
    uniq, sid = np.unique(code, return_inverse=True)
    return uniq, sid + 1  # 0: the start state


def _transition_counts(j: Journeys, sid: np.ndarray, n_states: int):
    """Sparse transition counts from the path weights: (from, to) pairs for
    internal moves (weight: journeys), and the last touch to conversion / null."""
    pidx, pos, n = j._touch["path"], j._touch["pos"], j._touch["length"]
    prev = np.where(pos == 0, 0, np.roll(sid, 1))
    conv_state, null_state = n_states, n_states + 1
    last = pos == n - 1
    frm = np.concatenate([prev, sid[last], sid[last]])
    to = np.concatenate([sid, np.full(last.sum(), conv_state), np.full(last.sum(), null_state)])
    kind = np.concatenate([np.zeros(sid.shape[0]), np.ones(last.sum()), 2 * np.ones(last.sum())])
    path = np.concatenate([pidx, pidx[last], pidx[last]])
    return frm, to, kind.astype(int), path


def _chain(frm, to, counts, n_states):
    """Transition probabilities among the transient states (CSC) and into conversion."""
    m = sparse.coo_matrix((counts, (frm, to)), shape=(n_states, n_states + 2)).tocsr()
    total = np.asarray(m.sum(axis=1)).ravel()
    inv = np.divide(1.0, total, out=np.zeros_like(total), where=total > 0)
    m = sparse.diags(inv) @ m
    return m[:, :n_states].tocsc(), np.asarray(m[:, n_states].todense()).ravel()


def _absorption(q, r, removed_mask=None) -> float:
    """P(conversion) from the start: solve (I - Q) x = r, sparse; moves into a removed
    state go to null."""
    if removed_mask is not None:
        q = q @ sparse.diags((~removed_mask).astype(float))
    a = sparse.identity(q.shape[0], format="csc") - q
    return float(np.atleast_1d(sparse_linalg.spsolve(a.tocsc(), r))[0])


def markov_attribution(journeys: Journeys, *, order: int = 1) -> MarkovResult:
    """Markov-chain attribution with **exact** removal effects.

    The journeys define a chain on the states start, the channels (for ``order`` *m*:
    the last *m* channels), conversion and null, with transition probabilities estimated
    by the counts of moves (every journey starts at start and ends in conversion or
    null). With :math:`Q` the transient-to-transient block and :math:`r` the
    probabilities of moving to conversion, the absorption probability is

    .. math:: P(\\text{conv}) = [(I - Q)^{-1} r]_{\\text{start}}

    (the fundamental matrix :math:`N = (I-Q)^{-1}`; Kemeny & Snell, 1960). Removing a
    channel :math:`c` sends every move into a state ending in :math:`c` to null; its
    **removal effect** is :math:`RE_c = 1 - P_{-c}(\\text{conv}) / P(\\text{conv})`, and it
    gets the share :math:`RE_c / \\sum_d RE_d` of the conversions (Anderl, Becker, von
    Wangenheim & Schumann, 2016). Each removal is one sparse linear solve: deterministic,
    unlike estimates from simulated paths.

    Parameters
    ----------
    journeys : Journeys
    order : int
        Memory of the chain (1: first order).

    Returns
    -------
    MarkovResult

    References
    ----------
    Anderl, E., Becker, I., von Wangenheim, F., & Schumann, J. H. (2016). Mapping the
    customer journey: Lessons learned from graph-based online attribution modeling.
    *International Journal of Research in Marketing*, 33(3), 457-474.
    """
    if int(order) != order or order < 1:
        raise ValueError("order must be a positive integer")
    j = journeys
    if order == 1:  # small dense solves
        uniq = np.arange(1, j.k + 1)
        p = _removal_probabilities(j, *j.counts()[:2])[0]
        p_conv, p_without = float(p[0]), p[1:]
    else:
        uniq, sid = _markov_states(j, int(order))
        n_states = len(uniq) + 1
        frm, to, kind, path = _transition_counts(j, sid, n_states)
        w = np.stack([j.paths["journeys"], j.paths["conversions"], j.paths["nulls"]])
        q, r = _chain(frm, to, w.astype(float)[kind, path], n_states)
        p_conv = _absorption(q, r)
        newest = np.concatenate([[-1], (uniq % (j.k + 1)) - 1])  # newest channel of a state
        p_without = np.array([_absorption(q, r, newest == c) for c in range(j.k)])
    re = 1.0 - p_without / p_conv if p_conv > 0 else np.zeros(j.k)
    credit = j.n_conversions * re / re.sum() if re.sum() > 0 else np.zeros(j.k)
    table = _table(j, credit, p_without=p_without, removal_effect=re)
    states = [()] + [
        tuple(
            j.channels[(u // (j.k + 1) ** lag) % (j.k + 1) - 1]
            for lag in reversed(range(order))
            if (u // (j.k + 1) ** lag) % (j.k + 1)
        )
        for u in uniq
    ]
    return MarkovResult(p_conv, table, states, order)


_BLOCK = 1 << 15  # touches per block of the first-order counts (cache-sized temporaries)


def _first_order_counts(j: Journeys, conv: np.ndarray, nulls: np.ndarray) -> np.ndarray:
    """Counts of the moves start/channel -> channel/conversion/null, flattened
    ((k+1) x (k+3)): every touch is one move from the state before it.

    States are numbered 0 (start), :math:`c + 1` (channel :math:`c`), :math:`k + 1`
    (conversion), :math:`k + 2` (null); a move from :math:`s` to :math:`t` is cell
    :math:`s (k + 3) + t`, weighted by the journeys of its path. The touches are read as
    the channel numbers of the parsed paths, a block of whole paths at a time, so that
    no temporary array spans all touches (fresh memory costs more than the arithmetic).
    """
    t = j._touch
    k, n_to = j.k, j.k + 3
    size = (k + 1) * n_to
    token = t.token
    state = np.arange(1, k + 1) if t.lut is None else t.lut + 1  # state of each number
    start = len(state)  # the number standing for the start state
    # moves counted by (previous number or start, this number): index previous * start + this
    by_pair = np.zeros((start + 1) * start)
    weight = conv + nulls
    starts, ends = t.starts, t.ends
    n_touches = int(ends[-1]) if len(ends) else 0
    cuts = np.searchsorted(ends, np.arange(_BLOCK, n_touches, _BLOCK), side="right")
    for p0, p1 in zip([0, *cuts], [*cuts, len(ends)], strict=True):
        if p0 == p1:
            continue
        a, b = starts[p0], ends[p1 - 1]
        this = token[a:b]
        pair = np.empty(b - a, dtype=np.intp)
        np.multiply(this[:-1], start, out=pair[1:])
        pair[starts[p0:p1] - a] = start * start  # a path's first touch: from the start
        pair += this
        w = np.repeat(weight[p0:p1], t.lengths[p0:p1])
        by_pair += np.bincount(pair, weights=w, minlength=by_pair.shape[0])
    cell = np.zeros((start + 1, start), dtype=np.intp)  # the move of each pair
    cell[:start] = state[:, None] * n_to
    cell += state[None, :]
    c = np.zeros(size)
    np.add.at(c, cell.ravel(), by_pair)
    last = state[token[ends - 1]] * n_to + (k + 1)  # last channel -> conversion
    c += np.bincount(last, weights=conv, minlength=size)
    c += np.bincount(last + 1, weights=nulls, minlength=size)  # -> null
    return c


def _removal_probabilities(j: Journeys, conv: np.ndarray, nulls: np.ndarray) -> np.ndarray:
    """First-order chain, batch of counts (B x P): P(conversion) of the full chain and of
    the chain without each channel (B x (k+1)), by dense batched solves of size k+1."""
    k, n_to = j.k, j.k + 3
    B, P = conv.shape
    if B == 1:  # one weighted count of the unit moves: the fast path of a point estimate
        c = _first_order_counts(j, conv[0], nulls[0])[None, :]
    else:
        frm, to, kind, path = _transition_counts(j, j._touch["channel"] + 1, k + 1)
        pair = frm * n_to + to
        weights = np.stack([conv + nulls, conv, nulls], axis=0)  # 3 x B x P
        c = np.zeros((B, (k + 1) * n_to))
        for kd in range(3):  # transition counts: unit moves of each path, weighted
            sel = kind == kd
            m = sparse.csr_matrix(
                (np.ones(sel.sum()), (path[sel], pair[sel])), shape=(P, c.shape[1])
            )
            c += (m.T @ weights[kd].T).T
    c = c.reshape(B, k + 1, n_to)
    total = c.sum(axis=2, keepdims=True)
    prob = np.divide(c, total, out=np.zeros_like(c), where=total > 0)
    q, r = prob[:, :, : k + 1], prob[:, :, k + 1]
    # variants: 0 = full chain, 1..k = channel removed (its column of Q zeroed)
    mask = np.ones((k + 1, k + 1))
    mask[np.arange(1, k + 1), np.arange(1, k + 1)] = 0.0
    a = np.eye(k + 1) - q[:, None, :, :] * mask[None, :, None, :]
    x = np.linalg.solve(a, np.broadcast_to(r[:, None, :, None], (B, k + 1, k + 1, 1)))[..., 0]
    return x[:, :, 0]


def _markov_batch(j: Journeys, conv: np.ndarray, nulls: np.ndarray) -> np.ndarray:
    """First-order removal-effect credits for a batch of counts (B x P)."""
    p = _removal_probabilities(j, conv, nulls)
    re = 1.0 - np.divide(p[:, 1:], p[:, :1], out=np.ones_like(p[:, 1:]), where=p[:, :1] > 0)
    s = re.sum(axis=1, keepdims=True)
    return conv.sum(axis=1, keepdims=True) * np.divide(re, s, out=np.zeros_like(re), where=s > 0)


# ------------------------------------------------------------------------- Shapley

MAX_SHAPLEY_CHANNELS = 20


def _masks(j: Journeys) -> np.ndarray:
    """Bit mask of the channel set of each distinct path."""
    bits = np.zeros(len(j.paths), dtype=np.int64)
    np.bitwise_or.at(bits, j._touch["path"], 1 << j._touch["channel"])
    return bits


def _subset_bits(k: int):
    masks = np.arange(2**k)
    return masks, [(masks & (1 << i)) != 0 for i in range(k)]


def _mobius(v: np.ndarray, k: int) -> np.ndarray:
    """Harsanyi dividends d(T) = sum over U subset of T of (-1)^{|T-U|} v(U); last axis."""
    d = v.copy()
    masks, has = _subset_bits(k)
    for i in range(k):
        d[..., has[i]] -= d[..., masks[has[i]] ^ (1 << i)]
    return d


def _zeta_subsets(v: np.ndarray, k: int) -> np.ndarray:
    """f(S) = sum over T subset of S of v(T); last axis."""
    f = v.copy()
    masks, has = _subset_bits(k)
    for i in range(k):
        f[..., has[i]] += f[..., masks[has[i]] ^ (1 << i)]
    return f


def _zeta_supersets(v: np.ndarray, k: int) -> np.ndarray:
    """f(T) = sum over S superset of T of v(S); last axis."""
    f = v.copy()
    masks, has = _subset_bits(k)
    for i in range(k):
        f[..., ~has[i]] += f[..., masks[~has[i]] | (1 << i)]
    return f


def _shapley_from_dividends(d: np.ndarray, weight: np.ndarray, k: int) -> np.ndarray:
    """phi_c = sum over T containing c of d(T) * weight(T) / |T|; last axis -> channels."""
    masks, has = _subset_bits(k)
    size = np.array([bin(m).count("1") for m in masks])
    per = np.divide(d * weight, size, out=np.zeros(np.broadcast(d, weight).shape), where=size > 0)
    return np.stack([per[..., has[i]].sum(axis=-1) for i in range(k)], axis=-1)


def _shapley_batch(j, conv, nulls, empty_conv, empty_n, value: str) -> np.ndarray:
    k = j.k
    if k > MAX_SHAPLEY_CHANNELS:
        raise ValueError(
            f"exact Shapley values over {k} channels need 2^{k} coalitions; group the "
            f"channels into at most {MAX_SHAPLEY_CHANNELS}"
        )
    masks = _masks(j)
    B = conv.shape[0]
    ind = sparse.csr_matrix(
        (np.ones(len(masks)), (np.arange(len(masks)), masks)), shape=(len(masks), 2**k)
    )
    by_set = np.asarray((ind.T @ conv.T).T)
    n_set = np.asarray((ind.T @ (conv + nulls).T).T)
    if value == "path":
        # v(S) = conversions of the paths whose channel set lies in S: dividends = conv(T)
        v = _zeta_subsets(by_set, k)
        return _shapley_from_dividends(_mobius(v, k), np.ones(2**k), k)
    if value != "incremental":
        raise ValueError("value must be 'path' or 'incremental'")
    base = np.divide(empty_conv, empty_n, out=np.zeros(B), where=empty_n > 0)
    rate = np.divide(by_set, n_set, out=np.full((B, 2**k), np.nan), where=n_set > 0)
    rate[:, 0] = base
    # an unseen coalition is worth its best seen subset one channel smaller
    order = np.argsort([bin(m).count("1") for m in range(2**k)], kind="stable")
    for m in order[1:]:
        miss = np.isnan(rate[:, m])
        if miss.any():
            subs = [m ^ (1 << i) for i in range(k) if m & (1 << i)]
            rate[miss, m] = np.max(rate[np.ix_(miss, subs)], axis=1)
    d = _mobius(rate - base[:, None], k)
    d[:, 0] = 0.0
    return _shapley_from_dividends(d, _zeta_supersets(n_set, k), k)


def shapley_attribution(journeys: Journeys, *, value: str = "incremental") -> pd.DataFrame:
    """Shapley-value attribution over channel coalitions, exact.

    ``value="path"`` (Zhao et al., 2018): the worth of a coalition :math:`S` is the
    conversions of the paths whose channels all lie in :math:`S`,
    :math:`v(S) = \\sum_{T \\subseteq S} R(T)`. Then the Shapley value reduces to the
    simplified path-based formula :math:`\\phi_c = \\sum_{T \\ni c} R(T) / |T|` (each
    path's conversions split equally among its distinct channels); it is computed from
    all :math:`2^k` coalitions through the Harsanyi dividends.

    ``value="incremental"``: the worth is the **conversion rate** of the journeys whose
    channel set is exactly :math:`S`, :math:`v(S) = \\hat p(S)`, less the rate of
    customers without a touch, :math:`v(\\emptyset) = \\hat p(\\emptyset)` (0 when unknown).
    Each journey with channel set :math:`S` shares its expected incremental conversions
    :math:`v(S) - v(\\emptyset)` among its channels by their Shapley values in the game
    restricted to :math:`S`; with dividends :math:`d(T)` of :math:`v`,

    .. math:: \\text{credit}_c = \\sum_{T \\ni c} \\frac{d(T)}{|T|}\\, N(\\supseteq T),

    :math:`N(\\supseteq T)` the journeys whose set contains :math:`T`. Credits sum to
    the conversions above the baseline. A coalition no journey has is given the rate of
    its best subset one channel smaller. Exact up to 20 channels (:math:`2^k`
    coalitions, :math:`O(k\\,2^k)`).

    Returns
    -------
    DataFrame
        ``channel, conversions, share``.

    References
    ----------
    Shapley, L. S. (1953). A value for n-person games. *Contributions to the Theory of
    Games* II, 307-317. Zhao, K., Mahboobi, S. H., & Bagheri, S. R. (2018). Shapley
    value methods for attribution modeling in online advertising. arXiv:1804.05327.
    Dalessandro, B., Perlich, C., Stitelman, O., & Provost, F. (2012). Causally
    motivated attribution for online advertising. *ADKDD*.
    """
    credit = _shapley_batch(journeys, *journeys.counts(), value)[0]
    return _table(journeys, credit)
