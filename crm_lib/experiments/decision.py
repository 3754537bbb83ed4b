"""Turning an analysis into a decision: ship, do not ship, or keep running."""

from __future__ import annotations

import pandas as pd

from crm_lib.experiments._validate import require_columns

__all__ = ["decide"]

SHIP = "ship"
NO_SHIP = "do not ship"
KEEP = "keep running"


def _fmt(r) -> str:
    return (
        f"{r['metric']} {r['diff']:+.4g} (CI {r['ci_low']:.4g} to {r['ci_high']:.4g}, "
        f"adjusted p = {r['p_adjusted']:.3g})"
    )


def decide(
    summary: pd.DataFrame,
    *,
    srm: pd.DataFrame | None = None,
    n_required: int | None = None,
) -> pd.DataFrame:
    """Recommend ship / do not ship / keep running for each treatment arm, with reasons.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`~crm_lib.experiments.analyze` (needs ``role``, ``direction``,
        ``p_adjusted``, ``guardrail_breached``); at least one metric must be ``primary``.
    srm : DataFrame, optional
        Output of :func:`~crm_lib.experiments.srm_check`. An alarm overrides everything.
    n_required : int, optional
        Planned units per arm (from the power analysis). Below it, a flat primary metric
        means "keep running" rather than "no effect".

    Returns
    -------
    pandas.DataFrame
        One row per treatment arm: ``control, treatment, decision, reason, caveats``.

    Notes
    -----
    Rules, in order: (1) sample ratio mismatch -> do not ship (results untrustworthy);
    (2) a breached guardrail -> do not ship; (3) a primary metric significantly worse ->
    do not ship; (4) a primary metric significantly better (and none worse) -> ship;
    (5) otherwise keep running while below the planned sample size, else do not ship (no
    effect of the planned size; the CI says which effects remain plausible).
    Significance uses the multiplicity-adjusted p-values of ``summary``.
    """
    require_columns(
        summary,
        ["treatment", "control", "role", "direction", "p_adjusted", "guardrail_breached"],
        "summary",
    )
    if not (summary["role"] == "primary").any():
        raise ValueError("summary has no primary metric; mark one with Metric(..., role='primary')")
    srm_alarm = srm is not None and bool(srm["srm"].any())
    rows = []
    for (control, treat), g in summary.groupby(["control", "treatment"], sort=False):
        prim = g[g["role"] == "primary"]
        guards = g[g["guardrail_breached"]]
        n_min = int(min(prim["n_control"].min(), prim["n_treatment"].min()))
        under = n_required is not None and n_min < n_required
        caveats = []
        if srm_alarm:
            caveats.append(f"sample ratio mismatch (p = {float(srm['p_value'].iloc[0]):.2g})")
        if under:
            caveats.append(
                f"underpowered: {n_min} units in the smaller arm of {n_required} planned"
            )
        if len(guards):
            caveats.append(
                "guardrail breached: " + "; ".join(_fmt(r) for _, r in guards.iterrows())
            )
        worse = prim[prim["direction"] == "worse"]
        better = prim[prim["direction"] == "better"]
        if srm_alarm:
            decision = NO_SHIP
            reason = (
                "The arm sizes do not match the planned split, so assignment or logging is "
                "broken and no effect estimate can be trusted. Find the cause and rerun."
            )
        elif len(guards):
            decision = NO_SHIP
            reason = "A guardrail metric got significantly worse: " + "; ".join(
                _fmt(r) for _, r in guards.iterrows()
            )
        elif len(worse):
            decision = NO_SHIP
            reason = "The primary metric got significantly worse: " + "; ".join(
                _fmt(r) for _, r in worse.iterrows()
            )
        elif len(better):
            decision = SHIP
            reason = "The primary metric improved significantly: " + "; ".join(
                _fmt(r) for _, r in better.iterrows()
            )
        elif under:
            decision = KEEP
            reason = (
                "No significant change in the primary metric yet, and the planned sample size "
                "is not reached: " + "; ".join(_fmt(r) for _, r in prim.iterrows())
            )
        else:
            decision = NO_SHIP
            reason = (
                "No significant change in the primary metric at the planned sample size; "
                "effects outside the interval are unlikely: "
                + "; ".join(_fmt(r) for _, r in prim.iterrows())
            )
        if n_required is None:
            caveats.append("no planned sample size given: power not checked")
        rows.append(
            {
                "control": control,
                "treatment": treat,
                "decision": decision,
                "reason": reason,
                "caveats": "; ".join(caveats) if caveats else "none",
            }
        )
    return pd.DataFrame(rows, columns=["control", "treatment", "decision", "reason", "caveats"])
