# fuzz.cmake - libFuzzer targets for micl's readers of untrusted files (tests/fuzz/, README.md
# "Fuzzing"). Only with -DMICL_FUZZ=ON and clang; the top-level CMakeLists.txt then builds all of
# micl with -fsanitize=fuzzer-no-link,address,undefined. Each target gets two tests: a
# regression run over its seed corpus (tests/fuzz/corpus/<name>/) and a 5-second fuzzing run
# that starts from those seeds and writes new inputs to a scratch copy in the build tree.
if(NOT MICL_FUZZ)
  return()
endif()
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "MICL_FUZZ needs clang (CC=clang): libFuzzer is part of clang")
endif()

set(MICL_FUZZ_TARGETS config store checkpoint results idx image predictions)
# -detect_leaks=0: a rejected input leaves the reader by longjmp (fuzz_harness.h), abandoning
# what it had allocated. -close_fd_mask=2: silence the readers' error messages; libFuzzer and
# the sanitizers still report on their own copy of stderr.
set(MICL_FUZZ_ARGS -detect_leaks=0 -close_fd_mask=2 -rss_limit_mb=4096)
# allocator_may_return_null=1: an absurd size read from a file gets NULL, as without ASan, and
# the reader reports "out of memory" through micl_fatal.
set(MICL_FUZZ_ENV "ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1;UBSAN_OPTIONS=print_stacktrace=1")

add_custom_target(fuzz)
foreach(t ${MICL_FUZZ_TARGETS})
  add_executable(fuzz_${t} ${CMAKE_CURRENT_LIST_DIR}/fuzz_${t}.c)
  target_link_libraries(fuzz_${t} PRIVATE micl_core)
  target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
  add_dependencies(fuzz fuzz_${t})
  set(corpus ${CMAKE_CURRENT_LIST_DIR}/corpus/${t})
  set(scratch ${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus/${t})
  add_test(NAME fuzz_${t}_seeds COMMAND fuzz_${t} ${MICL_FUZZ_ARGS} -runs=0 ${corpus})
  # libhdf5 1.10 itself crashes and hangs on some corrupt files (README.md "Fuzzing"): the short
  # runs of the HDF5 targets fuzz in a child process and go on past such inputs.
  set(extra "")
  if(t MATCHES "^(store|results|checkpoint)$")
    set(extra -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  endif()
  add_test(NAME fuzz_${t}_5s
    COMMAND ${CMAKE_COMMAND} -E env ${MICL_FUZZ_ENV}
      sh -c "mkdir -p '${scratch}' && exec \"$0\" \"$@\"" $<TARGET_FILE:fuzz_${t}>
      ${MICL_FUZZ_ARGS} ${extra} -max_total_time=5 -timeout=10
      -artifact_prefix=${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus/${t}- ${scratch} ${corpus})
  set_tests_properties(fuzz_${t}_seeds fuzz_${t}_5s PROPERTIES ENVIRONMENT "${MICL_FUZZ_ENV}"
    LABELS fuzz TIMEOUT 120)
  if(extra)
    # Fork mode exits with the code of the last libhdf5 crash or hang it went past; the test
    # passes when the run completed (findings are left in the build tree).
    set_tests_properties(fuzz_${t}_5s PROPERTIES PASS_REGULAR_EXPRESSION "INFO: exiting: [0-9]+ time:")
  endif()
endforeach()
# fuzz_idx.c closes the gzFile that a rejected input leaves open.
target_link_options(fuzz_idx PRIVATE -Wl,--wrap=gzopen,--wrap=gzclose)
# fuzz_config.c frees the libconfig object that a rejected config leaves behind.
target_link_options(fuzz_config PRIVATE -Wl,--wrap=config_init,--wrap=config_destroy)
