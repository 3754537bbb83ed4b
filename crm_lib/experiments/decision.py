"""Turning an analysis into a decision: ship, do not ship, or keep running."""

from __future__ import annotations

import pandas as pd

from crm_lib.experiments._validate import require_columns
from crm_lib.i18n import label, t

__all__ = ["METHODS", "decide", "decide_bayesian", "decide_sequential", "verdict"]

SHIP = "ship"
NO_SHIP = "do not ship"
KEEP = "keep running"


def _check_srm(srm: pd.DataFrame | None, arms: set, what: str) -> bool:
    """Validate the SRM table a decision needs; return its alarm.

    No decision is given without the sample ratio mismatch check: a broken split makes
    every effect estimate untrustworthy, however significant it looks, so the check is
    required rather than optional.
    """
    if srm is None:
        raise ValueError(
            f"{what} needs the sample ratio mismatch check: pass "
            "srm=srm_check(data, group_col=..., expected={planned shares}) (or "
            "arm_stats(...).srm(expected=...)); a split that does not match the plan makes "
            "every effect estimate untrustworthy, so no decision is given without it."
        )
    require_columns(srm, ["variant", "srm", "p_value"], "srm")
    covered = set(srm["variant"])
    missing = sorted(map(str, arms - covered))
    if missing:
        raise ValueError(
            f"the SRM check covers {sorted(map(str, covered))} but the decision compares "
            f"{sorted(map(str, arms))} (missing {missing}); pass the SRM check of this "
            "experiment's assignments."
        )
    return bool(srm["srm"].any())


def _fmt(r, language: str = "en") -> str:
    return t("reason_metric", language).format(
        metric=r["metric"] if language == "en" else label(r["metric"], language),
        diff=r["diff"],
        low=r["ci_low"],
        high=r["ci_high"],
        p=r["p_adjusted"],
    )


def _rows(frame: pd.DataFrame, language: str) -> str:
    return _SEPARATOR[language].join(_fmt(r, language) for _, r in frame.iterrows())


def _caveats(caveats: list[str], language: str) -> str:
    return _SEPARATOR[language].join(caveats) if caveats else t("caveat_none", language)


_SEPARATOR = {"en": "; ", "zh": "；"}


def decide(
    summary: pd.DataFrame,
    *,
    srm: pd.DataFrame | None = None,
    n_required: int | None = None,
    language: str = "en",
) -> pd.DataFrame:
    """Recommend ship / do not ship / keep running for each treatment arm, with reasons.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`~crm_lib.experiments.analyze` (needs ``role``, ``direction``,
        ``p_adjusted``, ``guardrail_breached``); at least one metric must be ``primary``.
    srm : DataFrame
        Output of :func:`~crm_lib.experiments.srm_check` (or ``ArmStats.srm``) for the
        planned shares, covering every arm of ``summary``. Required: without it a
        ``ValueError`` is raised, because a broken split (e.g. 60/40 logged for a planned
        50/50) would otherwise ship. An alarm overrides everything.
    n_required : int, optional
        Planned units per arm (from the power analysis). Below it, a flat primary metric
        means "keep running" rather than "no effect".
    language : str
        Language of ``reason`` and ``caveats`` (``en`` or ``zh``); ``decision`` stays a
        code (``ship``, ``do not ship``, ``keep running``) to translate as a label.

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
    arms = set(summary["control"]) | set(summary["treatment"])
    srm_alarm = _check_srm(srm, arms, "decide")
    rows = []
    for (control, treat), g in summary.groupby(["control", "treatment"], sort=False):
        prim = g[g["role"] == "primary"]
        guards = g[g["guardrail_breached"]]
        n_min = int(min(prim["n_control"].min(), prim["n_treatment"].min()))
        under = n_required is not None and n_min < n_required
        caveats = []
        if srm_alarm:
            caveats.append(t("caveat_srm", language).format(p=float(srm["p_value"].iloc[0])))
        if under:
            caveats.append(
                t("caveat_underpowered", language).format(n_min=n_min, n_required=n_required)
            )
        if len(guards):
            caveats.append(t("caveat_guardrail", language).format(rows=_rows(guards, language)))
        worse = prim[prim["direction"] == "worse"]
        better = prim[prim["direction"] == "better"]
        if srm_alarm:
            decision, reason = NO_SHIP, t("reason_srm", language)
        elif len(guards):
            decision = NO_SHIP
            reason = t("reason_guardrail", language).format(rows=_rows(guards, language))
        elif len(worse):
            decision = NO_SHIP
            reason = t("reason_worse", language).format(rows=_rows(worse, language))
        elif len(better):
            decision = SHIP
            reason = t("reason_better", language).format(rows=_rows(better, language))
        elif under:
            decision = KEEP
            reason = t("reason_flat_running", language).format(rows=_rows(prim, language))
        else:
            decision = NO_SHIP
            reason = t("reason_flat_done", language).format(rows=_rows(prim, language))
        if n_required is None:
            caveats.append(t("caveat_no_sample_size", language))
        rows.append(
            {
                "control": control,
                "treatment": treat,
                "decision": decision,
                "reason": reason,
                "caveats": _caveats(caveats, language),
            }
        )
    return pd.DataFrame(rows, columns=["control", "treatment", "decision", "reason", "caveats"])


def _guard_and_srm(srm, guardrails, control, treat, what, language="en"):
    """Shared overrides of the method-specific rules: SRM alarm, breached guardrail."""
    caveats, override = [], None
    if _check_srm(srm, {control, treat}, what):
        caveats.append(t("caveat_srm", language).format(p=float(srm["p_value"].iloc[0])))
        override = (NO_SHIP, t("reason_srm", language))
    if guardrails is not None and len(guardrails):
        require_columns(guardrails, ["treatment", "guardrail_breached"], "guardrails")
        g = guardrails[(guardrails["treatment"] == treat) & guardrails["guardrail_breached"]]
        if len(g):
            text = _rows(g, language)
            caveats.append(t("caveat_guardrail", language).format(rows=text))
            override = override or (NO_SHIP, t("reason_guardrail", language).format(rows=text))
    return override, caveats


def decide_bayesian(
    posterior: pd.DataFrame,
    *,
    srm: pd.DataFrame | None = None,
    guardrails: pd.DataFrame | None = None,
    prob_threshold: float = 0.95,
    max_expected_loss: float = 0.001,
    language: str = "en",
) -> pd.DataFrame:
    """Ship / do not ship / keep running from a Bayesian comparison (probability and loss).

    Parameters
    ----------
    posterior : DataFrame
        Output of :func:`~crm_lib.experiments.bayes_proportions`.
    srm : DataFrame
        :func:`~crm_lib.experiments.srm_check` output, required as in :func:`decide` (an
        alarm overrides everything).
    guardrails : DataFrame, optional
        Guardrail rows of :func:`~crm_lib.experiments.analyze` (a breach means do not ship).
    prob_threshold : float
        Ship when ``P(treatment beats control) >= prob_threshold`` ...
    max_expected_loss : float
        ... and the expected loss of shipping, ``E[max(p_C - p_T, 0)]``, is at most this
        (in conversion-rate units; 0.001 = 0.1 percentage point). Do not ship when
        ``P(beats) <= 1 - prob_threshold``; otherwise keep running.

    Returns
    -------
    pandas.DataFrame
        ``control, treatment, decision, reason, caveats`` (as :func:`decide`).

    Notes
    -----
    The expected-loss rule stops when the cost of a wrong choice is below a threshold of
    caring, rather than when an effect is "significant" (Stucchio 2015). Like any rule
    applied repeatedly, checking it every day inflates the chance of a wrong ship.

    References
    ----------
    Stucchio, C. (2015). Bayesian A/B testing at VWO. VWO technical report.
    """
    require_columns(
        posterior,
        ["control", "treatment", "prob_beat_control", "expected_loss_treatment", "diff"],
        "posterior",
    )
    if not 0.5 < prob_threshold < 1:
        raise ValueError(f"prob_threshold must be in (0.5, 1), got {prob_threshold!r}")
    rows = []
    for _, r in posterior.iterrows():
        override, caveats = _guard_and_srm(
            srm, guardrails, r["control"], r["treatment"], "decide_bayesian", language
        )
        pb, loss = float(r["prob_beat_control"]), float(r["expected_loss_treatment"])
        text = t("reason_bayes", language).format(pb=pb, loss=loss, diff=float(r["diff"]))
        if override:
            decision, reason = override
        elif pb >= prob_threshold and loss <= max_expected_loss:
            decision, reason = SHIP, t("reason_bayes_ship", language) + text
        elif pb <= 1 - prob_threshold:
            decision, reason = NO_SHIP, t("reason_bayes_no_ship", language) + text
        else:
            decision, reason = KEEP, t("reason_bayes_keep", language) + text
        rows.append(
            {
                "control": r["control"],
                "treatment": r["treatment"],
                "decision": decision,
                "reason": reason,
                "caveats": _caveats(caveats, language),
            }
        )
    return pd.DataFrame(rows, columns=["control", "treatment", "decision", "reason", "caveats"])


def decide_sequential(
    monitoring: pd.DataFrame,
    *,
    srm: pd.DataFrame | None = None,
    guardrails: pd.DataFrame | None = None,
    n_required: int | None = None,
    language: str = "en",
) -> pd.DataFrame:
    """Ship / do not ship / keep running from the last look of an always-valid test.

    Parameters
    ----------
    monitoring : DataFrame
        Output of :func:`~crm_lib.experiments.sequential_test` (one row per look and arm).
    srm : DataFrame
        Required, as in :func:`decide`.
    guardrails : DataFrame, optional
        As in :func:`decide_bayesian`.
    n_required : int, optional
        Maximum planned units per arm; reaching it without a rejection means do not ship.
    language : str
        Language of ``reason`` and ``caveats``, as in :func:`decide`.

    Returns
    -------
    pandas.DataFrame
        ``control, treatment, decision, reason, caveats``.

    Notes
    -----
    The mSPRT p-value and confidence sequence are valid at every look, so stopping at the
    first look with ``reject`` keeps the error rate: a confidence sequence above zero ->
    ship; below zero -> do not ship; otherwise keep running (or stop without an effect once
    the planned maximum is reached).
    """
    require_columns(
        monitoring,
        [
            "look",
            "control",
            "treatment",
            "n_control",
            "n_treatment",
            "diff",
            "ci_low",
            "ci_high",
            "p_value",
            "reject",
        ],
        "monitoring",
    )
    rows = []
    for (control, treat), g in monitoring.groupby(["control", "treatment"], sort=False):
        last = g.sort_values("look").iloc[-1]
        override, caveats = _guard_and_srm(
            srm, guardrails, control, treat, "decide_sequential", language
        )
        n_min = int(min(last["n_control"], last["n_treatment"]))
        text = t("reason_sequential", language).format(
            look=int(last["look"]),
            diff=float(last["diff"]),
            low=float(last["ci_low"]),
            high=float(last["ci_high"]),
            p=float(last["p_value"]),
        )
        if override:
            decision, reason = override
        elif bool(last["reject"]) and last["ci_low"] > 0:
            decision, reason = SHIP, t("reason_sequential_ship", language)
        elif bool(last["reject"]) and last["ci_high"] < 0:
            decision, reason = NO_SHIP, t("reason_sequential_no_ship", language)
        elif n_required is not None and n_min >= n_required:
            decision, reason = NO_SHIP, t("reason_sequential_done", language)
        else:
            decision, reason = KEEP, t("reason_sequential_keep", language)
        if n_required is None:
            caveats.append(t("caveat_no_maximum", language))
        rows.append(
            {
                "control": control,
                "treatment": treat,
                "decision": decision,
                "reason": reason + text if not override else reason,
                "caveats": _caveats(caveats, language),
            }
        )
    return pd.DataFrame(rows, columns=["control", "treatment", "decision", "reason", "caveats"])


METHODS = ("frequentist", "bayesian", "sequential")


def verdict(
    method: str,
    *,
    summary: pd.DataFrame,
    posterior: pd.DataFrame | None = None,
    monitoring: pd.DataFrame | None = None,
    srm: pd.DataFrame | None = None,
    n_required: int | None = None,
    language: str = "en",
) -> pd.DataFrame:
    """The decision of the analysis chosen to drive it: ``frequentist``, ``bayesian`` or
    ``sequential``.

    Parameters
    ----------
    method : {'frequentist', 'bayesian', 'sequential'}
        :func:`decide` on ``summary``; :func:`decide_bayesian` on ``posterior``; or
        :func:`decide_sequential` on ``monitoring``. The guardrail rows of ``summary``
        apply to every method.
    summary : DataFrame
        :func:`~crm_lib.experiments.analyze` output.
    srm : DataFrame
        :func:`~crm_lib.experiments.srm_check` output; required by every method (an alarm
        means do not ship).
    language : str
        Language of ``reason`` and ``caveats`` (``en`` or ``zh``).

    Returns
    -------
    pandas.DataFrame
        ``control, treatment, decision, reason, caveats, method``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    require_columns(summary, ["role"], "summary")
    guards = summary[summary["role"] == "guardrail"]
    if method == "frequentist":
        out = decide(summary, srm=srm, n_required=n_required, language=language)
    elif method == "bayesian":
        if posterior is None:
            raise ValueError("method='bayesian' needs posterior=bayes_proportions(...)")
        out = decide_bayesian(posterior, srm=srm, guardrails=guards, language=language)
    else:
        if monitoring is None:
            raise ValueError("method='sequential' needs monitoring=sequential_test(...)")
        out = decide_sequential(
            monitoring, srm=srm, guardrails=guards, n_required=n_required, language=language
        )
    return out.assign(method=method)
