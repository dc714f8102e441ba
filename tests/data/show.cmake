# show.cmake - `micl data show` (data/, orchestrator/cmd_show.c): PNG pictures of episodes from
# the tiny config and its stores, determinism and bad input (expect_fail). show_prepare builds the tiny stores once in a private cache (a fixture); the other
# cases only read them and may run in parallel.
set(MICL_SHOW_WORK ${CMAKE_CURRENT_BINARY_DIR}/show)
add_test(NAME show_prepare
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/show_test.sh $<TARGET_FILE:micl>
                 ${CMAKE_SOURCE_DIR} ${MICL_SHOW_WORK} prepare)
set_tests_properties(show_prepare PROPERTIES FIXTURES_SETUP show_store
                     ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)
foreach(case tasks_cfg tasks_store deterministic bad_unknown_task bad_missing_store
        bad_missing_dir bad_too_many_ways scene_tasks)
  add_test(NAME show_${case}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/show_test.sh $<TARGET_FILE:micl>
                   ${CMAKE_SOURCE_DIR} ${MICL_SHOW_WORK} ${case})
  set_tests_properties(show_${case} PROPERTIES FIXTURES_REQUIRED show_store
                       ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)
endforeach()
