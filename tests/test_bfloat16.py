"""bfloat16 conversions: known bit patterns, and round-to-nearest-even against a float64 reference."""
import numpy as np
import pytest

from minilm.bfloat16 import bfloat16_bits_to_float32, float32_to_bfloat16_bits, round_to_bfloat16

# (float32 bits, bfloat16 bits): each row is one rounding rule
KNOWN = [
    (0x3F800000, 0x3F80),  # 1.0 is exact
    (0xC0000000, 0xC000),  # -2.0 keeps its sign
    (0x40490FDB, 0x4049),  # pi: low half 0x0FDB < 0x8000 rounds down
    (0x3F80C000, 0x3F81),  # low half 0xC000 > 0x8000 rounds up
    (0x3F808000, 0x3F80),  # tie, kept half even: stays
    (0x3F818000, 0x3F82),  # tie, kept half odd: up to even
    (0x3F808001, 0x3F81),  # just above the tie: up
    (0xBF818000, 0xBF82),  # ties to even on negatives too
    (0x3FFF8000, 0x4000),  # carry out of the mantissa bumps the exponent
    (0x7F7FFFFF, 0x7F80),  # largest float32 rounds to inf
    (0x7F800000, 0x7F80),  # inf
    (0xFF800000, 0xFF80),  # -inf
    (0x7F800001, 0x7FC0),  # NaN with a payload only in the low bits stays NaN (quiet)
    (0xFFC00000, 0xFFC0),  # negative quiet NaN keeps its sign
    (0x00000001, 0x0000),  # smallest subnormal rounds to zero
    (0x00018000, 0x0002),  # subnormal tie to even
    (0x80000000, 0x8000),  # -0.0
]


@pytest.mark.parametrize("f32_bits,bf16_bits", KNOWN)
def test_known_bit_patterns(f32_bits, bf16_bits):
    x = np.array([f32_bits], dtype=np.uint32).view(np.float32)
    assert int(float32_to_bfloat16_bits(x)[0]) == bf16_bits


def test_back_to_float32_is_exact():
    bits = np.array([0x3F80, 0x4049, 0xC000, 0x7F80, 0x0001], dtype=np.uint16)
    back = bfloat16_bits_to_float32(bits)
    assert back.dtype == np.float32
    assert back.view(np.uint32).tolist() == [0x3F800000, 0x40490000, 0xC0000000, 0x7F800000, 0x00010000]
    assert float32_to_bfloat16_bits(back).tolist() == bits.tolist()  # a round trip changes nothing


def test_round_to_nearest_even_against_float64(rng):
    # reference: the two bf16 neighbours (truncated, truncated + 1 ulp), pick the closer in float64
    x = (rng.standard_normal(100_000) * np.exp(rng.uniform(-30, 30, 100_000))).astype(np.float32)
    bits = x.view(np.uint32)
    down = (bits >> 16).astype(np.uint16)
    up = down + np.uint16(1)
    as64 = lambda b: (b.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    err_down, err_up = np.abs(x - as64(down)), np.abs(as64(up) - x)
    expected = np.where(err_down < err_up, down, np.where(err_up < err_down, up, np.where(down % 2 == 0, down, up)))
    assert np.array_equal(float32_to_bfloat16_bits(x), expected)
    rounded = round_to_bfloat16(x)
    assert rounded.dtype == np.float32
    assert np.all(np.abs(rounded - x) <= np.abs(x) * 2.0**-8)  # half an ulp of an 8-bit mantissa


def test_nan_and_shape_kept():
    x = np.array([[np.nan, 1.0], [-np.inf, 0.5]], dtype=np.float32)
    y = round_to_bfloat16(x)
    assert y.shape == (2, 2) and np.isnan(y[0, 0]) and y[1, 0] == -np.inf and y[1, 1] == 0.5


def test_bits_must_be_uint16():
    with pytest.raises(TypeError, match="uint16"):
        bfloat16_bits_to_float32(np.zeros(3, dtype=np.int32))
