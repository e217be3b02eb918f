"""bfloat16: the top half of a float32, rounded to nearest even, in plain bit arithmetic.

A float32 is 1 sign bit, 8 exponent bits and 23 mantissa bits. bfloat16
("brain float") keeps the sign and all 8 exponent bits but only the top 7
mantissa bits: the same range as float32 (up to ~3.4e38) with ~3 significant
decimal digits (a relative step of 2^-8 = 0.39 %). Converting is therefore
just dropping the low 16 bits of the float32 pattern, after rounding them:

    bits      = the float32's 32-bit pattern
    lower     = bits & 0xFFFF                  the 16 bits that get dropped
    keep_odd  = (bits >> 16) & 1               last kept bit, for ties
    bf16 bits = (bits + 0x7FFF + keep_odd) >> 16

Adding 0x7FFF carries into the kept half exactly when `lower` > 0x8000 (round
up) and never when `lower` < 0x8000 (round down); at the tie `lower` ==
0x8000 the extra `keep_odd` carries only when the kept half is odd, which
makes it even: round-to-nearest-even, the same as CUDA's `__float2bfloat16`
and PyTorch's `.to(torch.bfloat16)`. A carry out of the mantissa simply
increments the exponent, so a value above the largest bf16 rounds to inf,
as it should. The one case the formula gets wrong is NaN: a NaN whose
payload sits only in the low bits could round into inf, so NaNs are kept as
NaN explicitly (sign kept, quiet bit set).

Going back is exact: put the 16 bits on top of 16 zero bits.

NumPy has no bfloat16 dtype, so bf16 values live here as uint16 bit patterns
(how safetensors and Hugging Face store them), and `round_to_bfloat16` gives
float32 arrays that hold bf16-representable values: what autocast on the CPU
multiplies, so a learner can see what bf16 does to training without a GPU.
Everything works on NumPy and CuPy arrays alike (the `xp` idiom).
"""
from minilm.backend import xp_of

_SIGN_AND_EXPONENT = 0x7F80_0000  # float32 exponent all ones: inf or NaN
_MANTISSA = 0x007F_FFFF
_QUIET_BIT = 0x0040  # the top mantissa bit of a bfloat16


def float32_to_bfloat16_bits(x):
    """float32 array -> uint16 array of bfloat16 bit patterns (round to nearest even)."""
    xp = xp_of(x)
    bits = xp.ascontiguousarray(x, dtype=xp.float32).view(xp.uint32)
    keep_odd = (bits >> 16) & 1
    rounded = ((bits + (0x7FFF + keep_odd)) >> 16).astype(xp.uint16)
    is_nan = ((bits & _SIGN_AND_EXPONENT) == _SIGN_AND_EXPONENT) & ((bits & _MANTISSA) != 0)
    quiet_nan = ((bits >> 16) | _QUIET_BIT).astype(xp.uint16)
    return xp.where(is_nan, quiet_nan, rounded)


def bfloat16_bits_to_float32(bits):
    """uint16 array of bfloat16 bit patterns -> float32 array (exact)."""
    xp = xp_of(bits)
    bits = xp.asarray(bits)
    if bits.dtype != xp.uint16:
        raise TypeError(f"bfloat16 bits must be a uint16 array, got dtype {bits.dtype}; "
                        "view raw bytes with .view(numpy.uint16) first")
    return (bits.astype(xp.uint32) << 16).view(xp.float32)


def round_to_bfloat16(x):
    """float32 array with each value rounded to the nearest bfloat16 (ties to even)."""
    return bfloat16_bits_to_float32(float32_to_bfloat16_bits(x))
