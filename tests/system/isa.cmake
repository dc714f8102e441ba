# isa.cmake - the CPU kernels' instruction set as the environment picks it (MICL_ISA,
# kernels/cpu/isa.c): a name that is no build of this binary exits 1 with a message naming
# MICL_ISA and the builds there are; the portable build can always be picked. That every build
# gives the same bits: tests/kernels/test_isa.c kernel by kernel, isa_same_bytes below in
# training.
micl_bad_input_test(NAME isa_unknown_micl_isa EXIT 1
  MESSAGE "MICL_ISA=nonsense: not an instruction set of this build \\(scalar"
  ENVIRONMENT MICL_ISA=nonsense
  COMMAND $<TARGET_FILE:micl> version)
add_test(NAME isa_scalar_picked COMMAND $<TARGET_FILE:micl> version)
set_tests_properties(isa_scalar_picked PROPERTIES ENVIRONMENT "${MICL_TEST_ENV};MICL_ISA=scalar"
                     PASS_REGULAR_EXPRESSION "cpu kernels: scalar \\(this processor runs: scalar")

# The CPU kernels' instruction-set builds (kernels/cpu/isa.cmake) train to the same bytes. Not in
# the sanitizer build, where tests/kernels/test_isa.c runs every build's kernels instead: the
# training runs add minutes there and no code the kernel test does not reach.
if(NOT MICL_SANITIZE)
  add_test(NAME isa_same_bytes
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/isa_test.sh $<TARGET_FILE:micl>
                   ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/isa)
  set_tests_properties(isa_same_bytes PROPERTIES PROCESSORS 2 ENVIRONMENT "${MICL_TEST_ENV}"
                       TIMEOUT 900)
endif()
