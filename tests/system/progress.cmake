# progress.cmake - Progress is never thrown away or mislabelled: a checkpoint refuses a rerun
# without --resume / --restart, checkpoints carry their config's hash and stale ones are refused
# (train and sweep), `--run NAME` keeps the other runs of the results file, SIGINT and a stop
# during evaluation end with exit 3 (progress_test.sh).
foreach(mode refuse stale sweep_stale keep_runs signals)
  add_test(NAME progress_${mode}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/progress_test.sh $<TARGET_FILE:micl>
                   ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/progress_${mode} ${mode})
  set_tests_properties(progress_${mode} PROPERTIES TIMEOUT 300 ENVIRONMENT "${MICL_TEST_ENV}")
endforeach()
