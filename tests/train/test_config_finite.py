"""An infinite value is refused like any other value out of range (it used to train, then diverge)."""
import pytest

from minilm.cli.parser import checked
from minilm.train.config import TrainConfig, at_least


@pytest.mark.parametrize("key", ["learning_rate", "grad_clip", "weight_decay", "rope_theta", "norm_eps"])
def test_infinite_float_is_refused(key):
    with pytest.raises(ValueError, match=f"{key} must be .*, got inf"):
        TrainConfig(**{key: float("inf")})


def test_checked_refuses_inf():
    import argparse
    with pytest.raises(argparse.ArgumentTypeError, match="got inf"):
        checked(float, at_least(0))("inf")
