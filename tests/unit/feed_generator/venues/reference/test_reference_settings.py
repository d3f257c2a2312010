"""REFERENCE_* settings: defaults, per-product and per-source overrides, errors naming the
variable."""

from __future__ import annotations

import pytest

from common.settings import ReferenceSettings, SettingsError, load_settings

NAMES = ("REFERENCE_DEVIATION_BPS", "REFERENCE_WINDOW_S", "REFERENCE_STALE_AFTER_S",
         "REFERENCE_EMIT_INTERVAL_S")  # fmt: skip


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    assert load_settings().reference == ReferenceSettings(
        deviation_bps=50.0, window_s=5.0, stale_after_s=5.0, emit_interval_s=0.25
    )


def test_overrides_per_product_and_per_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFERENCE_DEVIATION_BPS", "40, BTC:30,NIFTY:20")
    monkeypatch.setenv("REFERENCE_STALE_AFTER_S", "parity:10")
    monkeypatch.setenv("REFERENCE_WINDOW_S", "2.5")
    monkeypatch.setenv("REFERENCE_EMIT_INTERVAL_S", "0.1")
    ref = load_settings().reference
    assert (ref.deviation_for("BTC"), ref.deviation_for("NIFTY"), ref.deviation_for("ETH")) == (
        30.0, 20.0, 40.0)  # fmt: skip
    assert (ref.stale_after_for("parity"), ref.stale_after_for("binance")) == (10.0, 5.0)
    assert (ref.window_s, ref.emit_interval_s) == (2.5, 0.1)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REFERENCE_DEVIATION_BPS", "fifty"),
        ("REFERENCE_DEVIATION_BPS", "btc:30"),  # a product is upper case
        ("REFERENCE_DEVIATION_BPS", "BTC:0"),
        ("REFERENCE_DEVIATION_BPS", "BTC:nan"),
        ("REFERENCE_STALE_AFTER_S", "PARITY:10"),  # a source is lower case
        ("REFERENCE_STALE_AFTER_S", "-1"),
        ("REFERENCE_WINDOW_S", "-1"),
        ("REFERENCE_EMIT_INTERVAL_S", "0"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()
