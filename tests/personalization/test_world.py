"""The simulated world's baskets, birthdays and carts: drawn from their own stream,
consistent with the core tables, and with a truth the trigger rules reproduce."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from crm_lib.datasets import load_dataset, save_world
from crm_lib.datasets.sim_personalization import add_personalization, pair_truth
from crm_lib.personalization import abandoned_carts, order_times


def test_stream_19_alone_makes_the_tables_and_leaves_the_core_alone(small_world):
    w = copy.deepcopy(small_world)
    before = {n: getattr(w, n).copy() for n in ("customers", "transactions", "events")}
    add_personalization(w, np.random.default_rng([1, 19]))
    for name, df in before.items():
        pd.testing.assert_frame_equal(getattr(w, name), df)
    for name in ("basket_lines", "customer_profiles", "carts"):
        pd.testing.assert_frame_equal(w.extra[name], small_world.extra[name])


def test_baskets_are_the_sale_orders(small_world):
    tx, lines = small_world.transactions, small_world.basket_lines
    sale = tx[tx["amount"] > 0].drop_duplicates("order_id")
    assert lines["basket_id"].nunique() == len(sale)
    per_customer = lines.drop_duplicates("basket_id").groupby("customer_id").size()
    assert per_customer.equals(sale.groupby("customer_id").size().astype(per_customer.dtype))
    assert set(lines["purchased_at"]) == set(sale["ordered_at"])


def test_pair_truth_by_hand():
    # pi = 0.5, s = 0.5: P(a) = 1 - .5 * .5 = .75; P(ab) = .5 + .5 * .25 = .625
    t = pair_truth(0.5, 0.5)
    assert t["item_support"] == 0.75 and t["support"] == 0.625
    assert t["lift"] == 0.625 / 0.75**2 and t["confidence"] == 0.625 / 0.75


def test_birthdays_agree_with_birth_years(small_world):
    prof = small_world.customer_profiles.merge(small_world.customers, on="customer_id")
    assert len(prof) == small_world.customers["birth_year"].notna().sum()
    dates = pd.to_datetime(
        pd.DataFrame(
            {"year": prof["birth_year"], "month": prof["birth_month"], "day": prof["birth_day"]}
        ),
        errors="coerce",
    )
    assert dates.notna().all()  # a real date of that year (29 Feb only in leap years)
    assert prof["birth_month"].value_counts().min() > 0.5 * len(prof) / 12


def test_abandoned_cart_rule_finds_the_planted_carts(small_world):
    truth = small_world.truth.frames["abandoned_carts"]
    carts, orders = small_world.carts, order_times(small_world.transactions)
    as_of = small_world.transactions["ordered_at"].max()
    got = abandoned_carts(carts, orders, as_of=as_of, lookback_days=6, wait_hours=24)
    window = truth[
        (truth["carted_at"] >= as_of - pd.Timedelta(days=6))
        & (truth["carted_at"] <= as_of - pd.Timedelta(hours=24))
    ]
    assert len(got) > 5
    assert sorted(got["customer_id"]) == sorted(window["customer_id"].unique())


def test_the_tables_survive_a_round_trip(small_world, tmp_path):
    folder = save_world(small_world, tmp_path / "world")
    back = load_dataset(folder)
    for name in ("basket_lines", "customer_profiles", "carts"):
        pd.testing.assert_frame_equal(getattr(back, name), small_world.extra[name])
    assert back.truth.studies["personalization"]["planted_pairs"]
