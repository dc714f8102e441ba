# `micl data export` and `micl eval CFG --benchmark B --predictions FILE`: LLaVA-style samples,
# ground-truth predictions scoring 1.0, chance-level constant answers, bad prediction files.
add_test(NAME export_predictions_roundtrip
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/scripts/export_test.sh $<TARGET_FILE:micl>
                 ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/export_work)
set_tests_properties(export_predictions_roundtrip PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}"
                     TIMEOUT 600)
