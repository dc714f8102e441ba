/* isa_names.h - the names of one instruction-set build of the CPU kernels (internal to
 * kernels/cpu; included by cpu.h when KERN_ISA_LEVEL is defined).
 *
 * kernels/cpu/isa.cmake compiles the files of kernels/cpu once per instruction set. Each build
 * writes kern_cpu_<name>, and this header turns it into kern_cpu_<isa>_<name> (kern_cpu_avx2_gemm),
 * so the builds link side by side and kernels/cpu/isa.c picks one table at start-up. Every
 * entry of KERN_BACKEND_API (kernels/backend.h) and the table itself is listed: a name missing
 * here would be defined by every build, and the link fails.
 */
#ifndef MICL_KERNELS_CPU_ISA_NAMES_H
#define MICL_KERNELS_CPU_ISA_NAMES_H

#if KERN_ISA_LEVEL == 0
#define KERN_ISA_NAME scalar
#elif KERN_ISA_LEVEL == 1
#define KERN_ISA_NAME avx2
#elif KERN_ISA_LEVEL == 2
#define KERN_ISA_NAME avx512
#else
#error "KERN_ISA_LEVEL is 0 (scalar), 1 (avx2) or 2 (avx512)"
#endif
#define KERN_ISA_CAT_(isa, name) kern_cpu_##isa##_##name
#define KERN_ISA_CAT(isa, name) KERN_ISA_CAT_(isa, name)

#define kern_cpu_alloc KERN_ISA_CAT(KERN_ISA_NAME, alloc)
#define kern_cpu_free KERN_ISA_CAT(KERN_ISA_NAME, free)
#define kern_cpu_zero KERN_ISA_CAT(KERN_ISA_NAME, zero)
#define kern_cpu_copy KERN_ISA_CAT(KERN_ISA_NAME, copy)
#define kern_cpu_copy_from_host KERN_ISA_CAT(KERN_ISA_NAME, copy_from_host)
#define kern_cpu_copy_to_host KERN_ISA_CAT(KERN_ISA_NAME, copy_to_host)
#define kern_cpu_copy_strided KERN_ISA_CAT(KERN_ISA_NAME, copy_strided)
#define kern_cpu_gather_rows KERN_ISA_CAT(KERN_ISA_NAME, gather_rows)
#define kern_cpu_scatter_rows KERN_ISA_CAT(KERN_ISA_NAME, scatter_rows)
#define kern_cpu_weight_bytes KERN_ISA_CAT(KERN_ISA_NAME, weight_bytes)
#define kern_cpu_weight_prepare KERN_ISA_CAT(KERN_ISA_NAME, weight_prepare)
#define kern_cpu_matmul_forward KERN_ISA_CAT(KERN_ISA_NAME, matmul_forward)
#define kern_cpu_matmul_backward KERN_ISA_CAT(KERN_ISA_NAME, matmul_backward)
#define kern_cpu_matmul_residual_forward KERN_ISA_CAT(KERN_ISA_NAME, matmul_residual_forward)
#define kern_cpu_matmul_gelu_forward KERN_ISA_CAT(KERN_ISA_NAME, matmul_gelu_forward)
#define kern_cpu_matmul_gelu_backward KERN_ISA_CAT(KERN_ISA_NAME, matmul_gelu_backward)
#define kern_cpu_matmul_backward_rows KERN_ISA_CAT(KERN_ISA_NAME, matmul_backward_rows)
#define kern_cpu_gemm KERN_ISA_CAT(KERN_ISA_NAME, gemm)
#define kern_cpu_layernorm_forward KERN_ISA_CAT(KERN_ISA_NAME, layernorm_forward)
#define kern_cpu_layernorm_backward KERN_ISA_CAT(KERN_ISA_NAME, layernorm_backward)
#define kern_cpu_gelu_forward KERN_ISA_CAT(KERN_ISA_NAME, gelu_forward)
#define kern_cpu_gelu_backward KERN_ISA_CAT(KERN_ISA_NAME, gelu_backward)
#define kern_cpu_add_inplace KERN_ISA_CAT(KERN_ISA_NAME, add_inplace)
#define kern_cpu_add_rows KERN_ISA_CAT(KERN_ISA_NAME, add_rows)
#define kern_cpu_sum_rows KERN_ISA_CAT(KERN_ISA_NAME, sum_rows)
#define kern_cpu_accumulate_rows KERN_ISA_CAT(KERN_ISA_NAME, accumulate_rows)
#define kern_cpu_plus_zero KERN_ISA_CAT(KERN_ISA_NAME, plus_zero)
#define kern_cpu_exp_inplace KERN_ISA_CAT(KERN_ISA_NAME, exp_inplace)
#define kern_cpu_patchify KERN_ISA_CAT(KERN_ISA_NAME, patchify)
#define kern_cpu_embed_forward KERN_ISA_CAT(KERN_ISA_NAME, embed_forward)
#define kern_cpu_embed_backward KERN_ISA_CAT(KERN_ISA_NAME, embed_backward)
#define kern_cpu_attention_forward KERN_ISA_CAT(KERN_ISA_NAME, attention_forward)
#define kern_cpu_attention_cached_forward KERN_ISA_CAT(KERN_ISA_NAME, attention_cached_forward)
#define kern_cpu_attention_backward KERN_ISA_CAT(KERN_ISA_NAME, attention_backward)
#define kern_cpu_rope_forward KERN_ISA_CAT(KERN_ISA_NAME, rope_forward)
#define kern_cpu_rope_backward KERN_ISA_CAT(KERN_ISA_NAME, rope_backward)
#define kern_cpu_smear_keys_forward KERN_ISA_CAT(KERN_ISA_NAME, smear_keys_forward)
#define kern_cpu_smear_keys_backward KERN_ISA_CAT(KERN_ISA_NAME, smear_keys_backward)
#define kern_cpu_mean_pool_forward KERN_ISA_CAT(KERN_ISA_NAME, mean_pool_forward)
#define kern_cpu_mean_pool_backward KERN_ISA_CAT(KERN_ISA_NAME, mean_pool_backward)
#define kern_cpu_crossentropy_forward KERN_ISA_CAT(KERN_ISA_NAME, crossentropy_forward)
#define kern_cpu_crossentropy_backward KERN_ISA_CAT(KERN_ISA_NAME, crossentropy_backward)
#define kern_cpu_adamw_update KERN_ISA_CAT(KERN_ISA_NAME, adamw_update)
#define kern_cpu_grad_norm KERN_ISA_CAT(KERN_ISA_NAME, grad_norm)
#define kern_cpu_scale_inplace KERN_ISA_CAT(KERN_ISA_NAME, scale_inplace)
#define kern_cpu_backend KERN_ISA_CAT(KERN_ISA_NAME, backend)

#endif
