# Core tests: RNG, episodes, deterministic reduction, end-to-end training, bad input.
micl_unit_test(test_rng test_rng.c)
micl_unit_test(test_episode test_episode.c)

add_executable(test_comm_tree test_comm_tree.c)
target_link_libraries(test_comm_tree PRIVATE micl_core)
foreach(np 1 2 3 4)
  add_test(NAME comm_tree_np${np}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:test_comm_tree>)
  set_tests_properties(comm_tree_np${np} PROPERTIES PROCESSORS 2 ENVIRONMENT "${MICL_TEST_ENV}")
endforeach()

# End to end on the tiny config: prepare, train with np=1 and np=2, compare checkpoints bit for bit.
set(MICL_SCRIPTS ${CMAKE_CURRENT_SOURCE_DIR}/scripts)
add_test(NAME e2e_tiny_np1_vs_np2
         COMMAND bash ${MICL_SCRIPTS}/e2e_tiny.sh $<TARGET_FILE:micl> ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/e2e)
set_tests_properties(e2e_tiny_np1_vs_np2 PROPERTIES PROCESSORS 2 ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 600)

# Bad input: each case asserts a clear message, a non-zero exit and no partial output.
foreach(case missing_config too_many_ranks unwritable_output missing_checkpoint checkpoint_not_hdf5
        checkpoint_is_a_store checkpoint_nan checkpoint_wrong_shape eval_image_size_mismatch
        eval_too_many_ways eval_bad_shots report_not_results report_schema_version
        max_seq_too_small nan_loss unknown_command)
  add_test(NAME bad_${case}
           COMMAND bash ${MICL_SCRIPTS}/bad_input.sh $<TARGET_FILE:micl> ${CMAKE_SOURCE_DIR}
                   ${CMAKE_CURRENT_BINARY_DIR}/bad ${case})
  set_tests_properties(bad_${case} PROPERTIES PROCESSORS 2 ENVIRONMENT "${MICL_TEST_ENV}"
                       TIMEOUT 300 RESOURCE_LOCK tiny_store)
endforeach()

# Preemption (SIGTERM -> checkpoint, exit 3) and kill -9, each resumed to the same bytes.
add_test(NAME resume_bit_identical
         COMMAND bash ${MICL_SCRIPTS}/resume_test.sh $<TARGET_FILE:micl> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_CURRENT_BINARY_DIR}/resume)
set_tests_properties(resume_bit_identical PROPERTIES PROCESSORS 2 ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 600)

# Binding shot curves: single pass over the KV cache == re-prompting, every cell; the same
# counts for np=1 and np=2.
add_executable(test_eval_curve test_eval_curve.c)
target_link_libraries(test_eval_curve PRIVATE micl_core)
add_test(NAME eval_curve_single_pass_np1_vs_np2
         COMMAND sh -c "\"$0\" -np 1 \"$1\" > eval_curve_np1.txt && \"$0\" -np 2 \"$1\" > eval_curve_np2.txt && cat eval_curve_np1.txt && diff eval_curve_np1.txt eval_curve_np2.txt"
                 ${MPIEXEC_EXECUTABLE} $<TARGET_FILE:test_eval_curve>
         WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(eval_curve_single_pass_np1_vs_np2 PROPERTIES PROCESSORS 2 ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)

# The training step loop allocates nothing (malloc calls counted by an LD_PRELOAD library; not
# under the sanitizers, which replace malloc themselves).
if(NOT MICL_SANITIZE AND NOT MICL_FUZZ)
  add_library(malloc_count SHARED malloc_count.c)
  add_test(NAME train_step_no_alloc
           COMMAND bash ${MICL_SCRIPTS}/step_alloc.sh $<TARGET_FILE:micl> ${CMAKE_SOURCE_DIR}
                   ${CMAKE_CURRENT_BINARY_DIR}/step_alloc $<TARGET_FILE:malloc_count>)
  set_tests_properties(train_step_no_alloc PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)
endif()
