"""The contract's decoding thresholds: what a saved contract means and what a request overrides."""

from __future__ import annotations

import pytest

from contract.config import ContractConfig


def test_a_contract_saved_before_the_fallback_decodes_without_one() -> None:
    old = ContractConfig(min_score=0.6).to_dict()
    del old["fallback_min_score"]
    config = ContractConfig.from_dict(old)
    assert config.fallback_min_score is None
    assert config.thresholds() == (0.6, None)


def test_the_tuned_pair_is_used_unless_a_request_sets_a_strict_min_score(tmp_path) -> None:
    config = ContractConfig(min_score=0.9, fallback_min_score=0.4)
    config.save(tmp_path / "contract.json")
    loaded = ContractConfig.load(tmp_path / "contract.json")
    assert loaded == config
    assert loaded.thresholds() == (0.9, 0.4)
    assert loaded.thresholds(0.3) == (0.3, None)


@pytest.mark.parametrize("floor", [-0.1, 1.5])
def test_a_fallback_floor_outside_0_1_is_refused(floor: float) -> None:
    with pytest.raises(ValueError, match=r"^fallback_min_score must be in \[0, 1\] or None$"):
        ContractConfig(fallback_min_score=floor)
