# outputs.cmake - outputs never clobber inputs or non-files, and one owner per output folder
# (common/atomic_file.c, common/file_kind.c, common/dir_lock.c; outputs_test.sh).
# outputs_setup prepares the tiny stores once (WORK/cache); every case copies them.
add_test(NAME outputs_setup
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/outputs_test.sh $<TARGET_FILE:micl>
                 ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/outputs setup)
set_tests_properties(outputs_setup PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300
                     FIXTURES_SETUP outputs_stores)
foreach(case inputs spellings import kinds devices lock stale)
  add_test(NAME outputs_${case}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/outputs_test.sh $<TARGET_FILE:micl>
                   ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/outputs ${case})
  set_tests_properties(outputs_${case} PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300
                       FIXTURES_REQUIRED outputs_stores)
endforeach()
