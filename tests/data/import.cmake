# import.cmake - tests of `micl data import` (data/import.c, orchestrator/cmd_import.c).
# import_make_images (tests/lib/make_images.c) writes the PNG/JPEG inputs (every PNG colour type,
# 16-bit, palette, interlaced, gray and colour JPEG); import_test.sh runs one case: good imports
# checked with h5py, determinism, `micl eval` on an imported store, and bad inputs (expect_fail:
# exit code, message, no output).

foreach(case formats determinism eval_tiny missing_dir not_a_dir no_classes one_class
        empty_class duplicate_names corrupt_png truncated_png truncated_jpeg corrupt_jpeg
        not_an_image empty_file too_large_png too_large_jpeg unwritable_output output_is_dir
        bad_size missing_output)
  add_test(NAME import_${case}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/import_test.sh $<TARGET_FILE:micl>
                   $<TARGET_FILE:import_make_images> ${CMAKE_SOURCE_DIR}
                   ${CMAKE_CURRENT_BINARY_DIR}/import ${case})
  set_tests_properties(import_${case} PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)
endforeach()
set_tests_properties(import_eval_tiny PROPERTIES PROCESSORS 2 TIMEOUT 600)
