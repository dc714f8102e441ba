# model.cmake - tests of kernels/ and model/: kernels vs scalar references, finite-difference
# gradient checks, and agreement with an independent PyTorch implementation.
micl_unit_test(test_kernels ${CMAKE_CURRENT_SOURCE_DIR}/test_kernels.c)
