# faults.cmake - write errors and full disks at every writer (faults_test.sh, docs/FAULTS.md):
# ENOSPC/EIO/fsync failures injected by an LD_PRELOAD shim (tests/lib/fault_shim.c) into
# checkpoints, results, stores, exports, predictions, bench files and PNGs; a read-only output
# folder, a full 300 KiB tmpfs, files deleted under a running training, kill -9 in the middle
# of a checkpoint, results or store write (alone and under mpirun) and the resume after it. Each case is a ctest;
# they start from one prepared folder (the faults_setup fixture).
add_library(fault_shim MODULE ${MICL_TEST_LIB}/fault_shim.c)
target_link_libraries(fault_shim PRIVATE ${CMAKE_DL_LIBS})
# Not instrumented: under ASan the tests preload the binary's sanitizer runtime before it.
set_target_properties(fault_shim PROPERTIES COMPILE_OPTIONS "-Wall;-Wextra" LINK_OPTIONS "")

set(_faults_cmd bash ${CMAKE_CURRENT_LIST_DIR}/faults_test.sh $<TARGET_FILE:micl> ${CMAKE_SOURCE_DIR}
                ${CMAKE_CURRENT_BINARY_DIR}/faults_work $<TARGET_FILE:fault_shim>)
add_test(NAME faults_setup COMMAND ${_faults_cmd} setup)
set_tests_properties(faults_setup PROPERTIES FIXTURES_SETUP faults ENVIRONMENT "${MICL_TEST_ENV}"
                     TIMEOUT 300)
foreach(c ckpt_enospc ckpt_eio ckpt_fsync results_enospc results_eio store_enospc store_eio export
          predictions bench png readonly tmpfs removed sweep sigint sigterm_eval kill_ckpt kill_results kill_store
          kill_mpirun kill_eval kill_handout import)
  add_test(NAME faults_${c} COMMAND ${_faults_cmd} ${c})
  set_tests_properties(faults_${c} PROPERTIES FIXTURES_REQUIRED faults SKIP_RETURN_CODE 77
                       ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)
endforeach()
