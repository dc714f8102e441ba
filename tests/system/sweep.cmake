# sweep.cmake - Sweeps: rank-count invariance, preemption and kill -9 resume, shards and merge, bad input.
foreach(mode np resume shard bad)
  add_test(NAME sweep_${mode}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/sweep_test.sh $<TARGET_FILE:micl>
                   ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/sweep_${mode} ${mode})
  set_tests_properties(sweep_${mode} PROPERTIES PROCESSORS 2 TIMEOUT 600
                       ENVIRONMENT "${MICL_TEST_ENV}")
endforeach()
