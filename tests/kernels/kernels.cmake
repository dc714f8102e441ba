# kernels.cmake - tests of kernels/: every kernel against a scalar reference, and the backend seam
# (buffers, copies, model-input kernels, compact-row backward, bit for bit).
micl_unit_test(test_kernels test_kernels.c)
micl_unit_test(test_kernels_seam test_kernels_seam.c)
# Every instruction-set build of the CPU kernels (avx2, avx512 where the processor runs them)
# gives the scalar build's bits for every kernel and shape; the builds' tables carry their names.
micl_unit_test(test_isa test_isa.c)
