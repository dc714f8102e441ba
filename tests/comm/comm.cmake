# comm.cmake - tests of comm/ under 1 to 4 ranks: the deterministic tree reduction
# (test_comm_tree.c), the reduction and the device transport's bootstrap on device buffers of a
# pseudo-device backend (test_comm_device.c; a hang of mismatched sends fails by the timeout),
# rank groups and messages (comm_split, comm_send/poll/recv; test_comm_groups.c).
micl_test_executable(test_comm_tree test_comm_tree.c)
micl_test_executable(test_comm_device test_comm_device.c)
micl_test_executable(test_comm_groups test_comm_groups.c)
foreach(np 1 2 3 4)
  add_test(NAME comm_tree_np${np}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:test_comm_tree>)
  add_test(NAME comm_device_np${np}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:test_comm_device>)
  add_test(NAME comm_groups_np${np}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:test_comm_groups>)
  set_tests_properties(comm_tree_np${np} comm_device_np${np} comm_groups_np${np} PROPERTIES
                       PROCESSORS 2 ENVIRONMENT "${MICL_TEST_ENV}")
  set_tests_properties(comm_device_np${np} PROPERTIES TIMEOUT 300)
endforeach()
