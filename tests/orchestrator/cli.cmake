# cli.cmake - the command line (common/cli_args.c, orchestrator/main.c): usage errors (an option
# given twice, out-of-range lists and combinations included) exit 2 with one message style and
# create nothing (expect_fail --usage); `micl` alone prints the usage on stderr; README.md's
# "Command line" block is `micl help`; `micl eval --checkpoint` prints no training fields.
foreach(case bad_integer unknown_option stray_argument repeated_option out_of_range
        no_command help_matches_readme eval_checkpoint_no_train_fields)
  add_test(NAME cli_${case}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/cli_test.sh $<TARGET_FILE:micl>
                   ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/cli ${case})
  set_tests_properties(cli_${case} PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)
endforeach()
set_tests_properties(cli_eval_checkpoint_no_train_fields PROPERTIES RESOURCE_LOCK cli_store)
