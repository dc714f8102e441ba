# worker.cmake - the optimizer step: the bench's timed step is the trainer's (test_step.c),
# at np 1 and 2.
add_executable(test_step test_step.c)
target_link_libraries(test_step PRIVATE micl_core)
foreach(np 1 2)
  add_test(NAME step_bench_is_trainer_np${np}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:test_step>)
  set_tests_properties(step_bench_is_trainer_np${np} PROPERTIES PROCESSORS 2 ENVIRONMENT "${MICL_TEST_ENV}")
endforeach()
