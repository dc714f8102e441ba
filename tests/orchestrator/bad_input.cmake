# bad_input.cmake - micl commands refusing bad input: each case requires its exit code, a clear
# message and no partial output (micl_bad_input_test, or bad_input.sh's expect_fail where the
# case must first prepare a store or train a checkpoint).
micl_bad_input_test(NAME bad_missing_config EXIT 1 MESSAGE "cannot open|no such file|nope.cfg"
  COMMAND $<TARGET_FILE:micl> train nope.cfg)
micl_bad_input_test(NAME bad_eval_bad_shots EXIT 2 MESSAGE "--shots expects an integer"
  COMMAND $<TARGET_FILE:micl> eval --checkpoint a.h5 --dataset b.h5 --ways 2 --shots 1,x)
micl_bad_input_test(NAME bad_unknown_command EXIT 2 MESSAGE "unknown command 'trian'"
  COMMAND $<TARGET_FILE:micl> trian x.cfg)
foreach(case too_many_ranks unwritable_output missing_checkpoint checkpoint_not_hdf5
        checkpoint_is_a_store checkpoint_nan checkpoint_wrong_shape eval_image_size_mismatch
        eval_too_many_ways eval_store_too_small report_not_results report_schema_version max_seq_too_small nan_loss)
  add_test(NAME bad_${case}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/bad_input.sh $<TARGET_FILE:micl> ${CMAKE_SOURCE_DIR}
                   ${CMAKE_CURRENT_BINARY_DIR}/bad ${case})
  set_tests_properties(bad_${case} PROPERTIES PROCESSORS 2 ENVIRONMENT "${MICL_TEST_ENV}"
                       TIMEOUT 300 RESOURCE_LOCK tiny_store)
endforeach()
