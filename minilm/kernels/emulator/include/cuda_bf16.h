// cuda_bf16.h for the SIMT emulator: __nv_bfloat16 and CUDA's conversions.
//
// bfloat16 is the top half of a float32 (sign, 8 exponent bits, 7 mantissa
// bits). As in CUDA, the value is 16 bits of storage, float -> bf16 rounds to
// nearest even (NaN becomes the canonical NaN 0x7FFF, as cvt.rn.bf16.f32 does)
// and bf16 -> float is exact. minilm/bfloat16.py does the same in NumPy.
// Only what minilm's kernels use is here: the type, the conversions, and the
// implicit float <-> bf16 conversions of CUDA's class.
#pragma once
#include <stdint.h>
#include <string.h>

static inline unsigned short simt_float_to_bf16_bits(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7F800000u) == 0x7F800000u && (bits & 0x007FFFFFu)) return 0x7FFF;   // NaN
    return (unsigned short)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);           // ties to even
}

struct __nv_bfloat16 {
    unsigned short x;
    __nv_bfloat16() = default;
    __nv_bfloat16(float f) : x(simt_float_to_bf16_bits(f)) {}
    operator float() const {
        uint32_t bits = (uint32_t)x << 16;
        float f;
        memcpy(&f, &bits, 4);
        return f;
    }
};

static inline __nv_bfloat16 __float2bfloat16(float f) { return __nv_bfloat16(f); }
static inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __nv_bfloat16(f); }
static inline float __bfloat162float(__nv_bfloat16 h) { return (float)h; }
static inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) { return h.x; }
static inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short bits) { __nv_bfloat16 h; h.x = bits; return h; }
