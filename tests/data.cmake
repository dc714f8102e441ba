# data.cmake - tests of the data layer (data/store.c, idx.c, fmnist.c, glyphs.c, prepare.c).
# Bad-input cases fork a child per case and check exit status, message and leftover files.
micl_unit_test(test_data_store test_data_store.c)
micl_unit_test(test_data_idx test_data_idx.c)
micl_unit_test(test_data_bad test_data_bad.c)
micl_unit_test(test_data_glyphs test_data_glyphs.c)
micl_unit_test(test_data_fmnist test_data_fmnist.c)
set_tests_properties(test_data_glyphs test_data_fmnist PROPERTIES SKIP_RETURN_CODE 77)
