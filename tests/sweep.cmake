# Rank groups and messages (comm_split, comm_send/poll/recv) under 1 to 4 ranks.
add_executable(test_comm_groups test_comm_groups.c)
target_link_libraries(test_comm_groups PRIVATE micl_core)
foreach(np 1 2 3 4)
  add_test(NAME comm_groups_np${np}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:test_comm_groups>)
  set_tests_properties(comm_groups_np${np} PROPERTIES PROCESSORS 2 ENVIRONMENT "${MICL_TEST_ENV}")
endforeach()

# Sweeps: rank-count invariance, preemption and kill -9 resume, shards and merge, bad input.
foreach(mode np resume shard bad)
  add_test(NAME sweep_${mode}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/scripts/sweep_test.sh $<TARGET_FILE:micl>
                   ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/sweep_${mode} ${mode})
  set_tests_properties(sweep_${mode} PROPERTIES PROCESSORS 2 TIMEOUT 600
                       ENVIRONMENT "${MICL_TEST_ENV}")
endforeach()
