# kernels.cmake - tests of kernels/: every kernel against a scalar reference, and the backend seam
# (buffers, copies, model-input kernels, compact-row backward, bit for bit).
micl_unit_test(test_kernels test_kernels.c)
micl_unit_test(test_kernels_seam test_kernels_seam.c)
