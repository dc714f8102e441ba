# export.cmake - `micl data export` and `micl eval CFG --benchmark B --predictions FILE`:
# LLaVA-style samples, ground-truth predictions scoring 1.0, chance-level constant answers, bad
# prediction files (expect_fail).
add_test(NAME export_predictions_roundtrip
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/export_test.sh $<TARGET_FILE:micl>
                 ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/export_work)
set_tests_properties(export_predictions_roundtrip PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}"
                     TIMEOUT 600)

# The paper's FS-ICL (fsicl, fsicl_random) exported and scored: the same options in every turn,
# variant 1 reversed in every turn, a constant letter 0.5, copying the first demo 1.0 / 0.5.
add_test(NAME fsicl_export
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/fsicl_export_test.sh $<TARGET_FILE:micl>
                 ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/fsicl_export_work)
set_tests_properties(fsicl_export PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)

# The whole recipe (every family and benchmark, RGB model over glyph, scene and operator
# stores): bit-identical for np=1 and np=2.
add_test(NAME recipe_np1_vs_np2
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/recipe_test.sh $<TARGET_FILE:micl>
                 ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/recipe_work)
set_tests_properties(recipe_np1_vs_np2 PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 600)

# The model-free references (pixel 1-NN, nearest class mean) equal a Python reader of the
# exported episodes, scored through `micl eval --predictions`, count for count.
add_test(NAME reference_readers_export
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/reference_test.sh $<TARGET_FILE:micl>
                 ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/reference_work)
set_tests_properties(reference_readers_export PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 120)
