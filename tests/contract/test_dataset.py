"""dataset.yml: a dataset's name, time zone, currency and vocabularies, checked on read."""

from __future__ import annotations

import pytest

from crm_lib.contract.dataset import (
    DatasetConfig,
    DatasetConfigError,
    read_config,
    write_config,
)

CDNOW = """\
name: CDNOW purchases 1997-98
timezone: America/New_York
currency: USD
vocabularies:
  transactions:
    category: [music]
  customers:
    region: [NSW, VIC, QLD]
"""


def test_round_trip_and_vocabularies(tmp_path):
    (tmp_path / "dataset.yml").write_text(CDNOW, encoding="utf-8")
    cfg = read_config(tmp_path)
    assert cfg.name == "CDNOW purchases 1997-98" and cfg.timezone == "America/New_York"
    assert cfg.currency == "USD" and not cfg.simulated
    assert cfg.vocabulary("transactions") == {"category": ("music",)}
    assert cfg.vocabulary("customers") == {"region": ("NSW", "VIC", "QLD")}
    assert cfg.vocabulary("events") == {}
    out = tmp_path / "copy"
    out.mkdir()
    write_config(cfg, out)
    assert read_config(out) == cfg


def test_a_folder_without_the_file_gets_the_defaults(tmp_path):
    folder = tmp_path / "my_shop"
    folder.mkdir()
    cfg = read_config(folder)
    assert cfg == DatasetConfig(name="my_shop")
    assert cfg.timezone == "UTC" and cfg.currency is None and cfg.vocabularies == {}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("timezone: UTC\n", r"`name` must be a non-empty text"),
        ("name: x\ntimezone: Mars/Olympus\n", r"timezone 'Mars/Olympus' is not an IANA time zone"),
        ("name: x\ncurrency: usd\n", r"currency 'usd' is not an ISO 4217 code"),
        ("name: x\nzone: UTC\n", r"unknown key\(s\) 'zone'; known: name"),
        ("name: x\nvocabularies: {orders: {category: [a]}}\n", r"vocabularies\.orders: no configurable"),
        (
            "name: x\nvocabularies: {transactions: {product_id: [a]}}\n",
            r"vocabularies\.transactions\.product_id: not a configurable column",
        ),
        ("name: x\nvocabularies: {customers: {region: []}}\n", r"non-empty list of texts"),
        ("name: x\nvocabularies: {customers: {region: north}}\n", r"non-empty list of texts"),
        ("name: x\nvocabularies: {customers: {region: [a, a]}}\n", r"a value is listed twice"),
        ("name: [unclosed\n", r"not valid YAML"),
        ("- a list\n", r"expected a mapping"),
    ],
)  # fmt: skip
def test_a_malformed_file_names_file_key_and_fix(tmp_path, text, match):
    (tmp_path / "dataset.yml").write_text(text, encoding="utf-8")
    with pytest.raises(DatasetConfigError, match=match) as err:
        read_config(tmp_path)
    assert "dataset.yml" in str(err.value)
