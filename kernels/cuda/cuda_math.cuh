/* cuda_math.cuh - the device's exponential and GELU, operation by operation as the CPU backend
 * computes them (kernels/cpu/simd.h: simd_exp, simd_gelu_inner, simd_tanh, simd_gelu_of,
 * simd_gelu_grad_of), so that the CUDA kernels give the CPU's bits wherever their order of
 * operations is the CPU's. Every operation is an explicit IEEE intrinsic (__fadd_rn, __fmaf_rn,
 * ...), so nvcc's contraction of a * b + c into an FMA cannot change a result.
 */
#ifndef MICL_KERN_CUDA_MATH_CUH
#define MICL_KERN_CUDA_MATH_CUH

#define CUDA_GELU_K 0.7978845608028654f /* sqrt(2 / pi) */
#define CUDA_GELU_C 0.044715f

/* exp(x): clamp, Cody-Waite reduction by ln 2, a degree-5 polynomial, scale by 2^n. */
static __device__ __forceinline__ float cuda_exp(float x) {
    x = fminf(fmaxf(x, -87.3365478515625f), 88.3762626647949f);
    float fx = rintf(__fmul_rn(x, 1.44269504088896341f));
    x = __fmaf_rn(-fx, 0.693359375f, x);
    x = __fmaf_rn(-fx, -2.12194440e-4f, x);
    float y = 1.9875691500E-4f;
    y = __fmaf_rn(y, x, 1.3981999507E-3f);
    y = __fmaf_rn(y, x, 8.3334519073E-3f);
    y = __fmaf_rn(y, x, 4.1665795894E-2f);
    y = __fmaf_rn(y, x, 1.6666665459E-1f);
    y = __fmaf_rn(y, x, 5.0000001201E-1f);
    float x2 = __fmul_rn(x, x);
    y = __fmaf_rn(y, x2, __fadd_rn(x, 1.0f));
    return __fmul_rn(y, __int_as_float(((int)fx + 127) << 23));
}

/* t = tanh(K (x + C x^3)) as 1 - 2 / (exp(2u) + 1) (exp saturating gives exactly 1). */
static __device__ __forceinline__ float cuda_gelu_tanh(float x) {
    float x3 = __fmul_rn(__fmul_rn(x, x), x);
    float u = __fmul_rn(CUDA_GELU_K, __fmaf_rn(CUDA_GELU_C, x3, x));
    float e = cuda_exp(__fadd_rn(u, u));
    return __fsub_rn(1.0f, __fdiv_rn(2.0f, __fadd_rn(e, 1.0f)));
}

/* gelu = 0.5 x (1 + t). */
static __device__ __forceinline__ float cuda_gelu_of(float x, float t) {
    return __fmul_rn(__fmul_rn(0.5f, x), __fadd_rn(1.0f, t));
}

/* gelu' = 0.5 (1 + t) + 0.5 x (1 - t^2) K (1 + 3 C x^2). */
static __device__ __forceinline__ float cuda_gelu_grad_of(float x, float t) {
    float du =
        __fmul_rn(CUDA_GELU_K, __fmaf_rn(__fmul_rn(3.0f, CUDA_GELU_C), __fmul_rn(x, x), 1.0f));
    float sech2 = __fmaf_rn(-t, t, 1.0f);
    float left = __fmul_rn(0.5f, __fadd_rn(1.0f, t));
    float right = __fmul_rn(__fmul_rn(0.5f, x), __fmul_rn(sech2, du));
    return __fadd_rn(left, right);
}

#endif
