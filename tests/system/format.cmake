# format.cmake - the checksummed file format (common/h5util.h, docs/FAULTS.md): files from before
# it are refused before libhdf5 parses them and scripts/micl_upgrade.py rewrites them; h5dump and
# h5py read every file micl writes; a byte flipped anywhere in a checkpoint, store or results file
# is refused or changes nothing micl loads (format_roundtrip.c). format_test.sh has the cases.
micl_test_executable(format_roundtrip format_roundtrip.c)
set(_format_cmd bash ${CMAKE_CURRENT_LIST_DIR}/format_test.sh $<TARGET_FILE:micl>
                $<TARGET_FILE:format_roundtrip> ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/format_work)
add_test(NAME format_setup COMMAND ${_format_cmd} setup)
set_tests_properties(format_setup PROPERTIES FIXTURES_SETUP format ENVIRONMENT "${MICL_TEST_ENV}"
                     TIMEOUT 300)
foreach(c old_refused upgrade h5py_h5dump flip_checkpoint flip_store flip_results)
  add_test(NAME format_${c} COMMAND ${_format_cmd} ${c})
  set_tests_properties(format_${c} PROPERTIES FIXTURES_REQUIRED format ENVIRONMENT "${MICL_TEST_ENV}"
                       TIMEOUT 600)
endforeach()
