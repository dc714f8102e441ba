# model.cmake - tests of model/: finite-difference gradient checks, the KV cache, and agreement
# with an independent PyTorch implementation (tests/reference/vlm_ref.py).
micl_unit_test(test_gradcheck test_gradcheck.c)

# reference_torch: the C model against an independent float64 PyTorch implementation.
micl_test_executable(test_reference_dump test_reference_dump.c)
foreach(pool flatten mean rgb smear)
  add_test(NAME reference_torch_${pool}
    COMMAND sh -c "\"$0\" vlm_ref_$3.h5 $3 && \"$1\" \"$2\" vlm_ref_$3.h5"
      $<TARGET_FILE:test_reference_dump> ${MICL_PYTHON}
      ${CMAKE_CURRENT_SOURCE_DIR}/reference/vlm_ref.py ${pool}
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(reference_torch_${pool} PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}")
endforeach()
# The decoder's KV cache: continuations of cached prefixes against the full forward, bit for bit.
micl_unit_test(test_vlm_cache test_vlm_cache.c)
