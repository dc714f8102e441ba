# system.cmake - tests across rooms on the tiny config: end to end (prepare, train with np=1 and
# np=2, checkpoints compared bit for bit), preemption and resume, the whole recipe, and the export
# of episodes and scoring of external predictions.
add_test(NAME e2e_tiny_np1_vs_np2
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/e2e_tiny.sh $<TARGET_FILE:micl> ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/e2e)
set_tests_properties(e2e_tiny_np1_vs_np2 PROPERTIES PROCESSORS 2 ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 600)

# Preemption (SIGTERM -> checkpoint, exit 3) and kill -9, each resumed to the same bytes.
add_test(NAME resume_bit_identical
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/resume_test.sh $<TARGET_FILE:micl> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_CURRENT_BINARY_DIR}/resume)
set_tests_properties(resume_bit_identical PROPERTIES PROCESSORS 2 ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 600)

# train.tokens_per_step (exact tokens, np=1 vs np=2 bit-identical) and `micl data coverage`
# (a baseline that never sees fake names exits 1 naming them; a covered run exits 0).
add_test(NAME tokens_per_step_and_coverage
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/tokens_coverage_test.sh $<TARGET_FILE:micl> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_CURRENT_BINARY_DIR}/tokens_coverage)
set_tests_properties(tokens_per_step_and_coverage PROPERTIES PROCESSORS 2 ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 600)

# every model of the shipped comparisons is trained on every answer word it is scored on
add_test(NAME shipped_configs_answer_coverage
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/shipped_coverage_test.sh $<TARGET_FILE:micl>
                 ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/shipped_coverage)
set_tests_properties(shipped_configs_answer_coverage PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}"
                     TIMEOUT 600)
