# model.cmake - tests of kernels/ and model/: kernels vs scalar references, finite-difference
# gradient checks, and agreement with an independent PyTorch implementation.
micl_unit_test(test_kernels ${CMAKE_CURRENT_SOURCE_DIR}/test_kernels.c)
# The backend seam: buffers, copies, model-input kernels, compact-row backward, bit for bit.
micl_unit_test(test_kernels_seam ${CMAKE_CURRENT_SOURCE_DIR}/test_kernels_seam.c)
# Timing program for the quickstart workload (run by hand: bench_vlm [threads] [steps]).
add_executable(bench_vlm ${CMAKE_CURRENT_SOURCE_DIR}/bench_vlm.c)
target_link_libraries(bench_vlm PRIVATE micl_core)
micl_unit_test(test_gradcheck ${CMAKE_CURRENT_SOURCE_DIR}/test_gradcheck.c)

# reference_torch: the C model against an independent float64 PyTorch implementation.
add_executable(test_reference_dump ${CMAKE_CURRENT_SOURCE_DIR}/test_reference_dump.c)
target_link_libraries(test_reference_dump PRIVATE micl_core)
foreach(pool flatten mean rgb smear)
  add_test(NAME reference_torch_${pool}
    COMMAND sh -c "\"$0\" vlm_ref_$3.h5 $3 && \"$1\" \"$2\" vlm_ref_$3.h5"
      $<TARGET_FILE:test_reference_dump> ${MICL_PYTHON}
      ${CMAKE_CURRENT_SOURCE_DIR}/reference/vlm_ref.py ${pool}
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(reference_torch_${pool} PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}")
endforeach()
# The decoder's KV cache: continuations of cached prefixes against the full forward, bit for bit.
micl_unit_test(test_vlm_cache ${CMAKE_CURRENT_SOURCE_DIR}/test_vlm_cache.c)
