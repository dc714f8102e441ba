# gpu.cmake - tests of the CUDA backend (label gpu: ctest -L gpu after building the target
# gpu_tests, which the test programs of tests/gpu/*.cmake join).
#  cuda_kernels_self_test   every build: test_cuda_kernels's harness against a fake device
#                           table (the CPU one, marked as device memory); runs everywhere.
# With MICL_ENABLE_CUDA=ON (cmake --preset cuda):
#  cuda_kernels_fp32        every entry of the module's table against the CPU's (skipped, exit
#  cuda_kernels_bf16        77, where the module cannot open a device: no GPU, no driver)
#  cuda_build_links_no_cuda micl and the tests need no CUDA library; the module needs no
#                           libcuda and no shared cudart, and exports only its entry point
#  cuda_ptxas_report        no register spill and no large stack frame in any kernel of the
#                           module (what ptxas printed when the build compiled it)
add_executable(test_cuda_kernels ${CMAKE_CURRENT_LIST_DIR}/test_cuda_kernels.c)
target_include_directories(test_cuda_kernels PRIVATE ${CMAKE_SOURCE_DIR})
target_link_libraries(test_cuda_kernels PRIVATE micl_kernels micl_common ${CMAKE_DL_LIBS})
# beside micl and libmicl_cuda.so, where kern_backend_use finds the module when run by hand
set_target_properties(test_cuda_kernels PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
add_dependencies(gpu_tests test_cuda_kernels)
add_test(NAME cuda_kernels_self_test COMMAND test_cuda_kernels --self-test)
set_tests_properties(cuda_kernels_self_test PROPERTIES LABELS gpu ENVIRONMENT "${MICL_TEST_ENV}"
                     TIMEOUT 300)

if(NOT MICL_ENABLE_CUDA)
  return()
endif()

add_dependencies(test_cuda_kernels micl_cuda)
set(MICL_GPU_ENV ${MICL_TEST_ENV} "MICL_CUDA_MODULE=$<TARGET_FILE:micl_cuda>")
add_test(NAME cuda_kernels_fp32 COMMAND test_cuda_kernels)
add_test(NAME cuda_kernels_bf16 COMMAND test_cuda_kernels --bf16)
set_tests_properties(cuda_kernels_fp32 cuda_kernels_bf16 PROPERTIES LABELS gpu
                     SKIP_RETURN_CODE 77 ENVIRONMENT "${MICL_GPU_ENV}" TIMEOUT 600)

add_test(NAME cuda_build_links_no_cuda
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check_links.sh $<TARGET_FILE:micl_cuda>
                 $<TARGET_FILE:micl> $<TARGET_FILE:test_cuda_kernels>)
set_tests_properties(cuda_build_links_no_cuda PROPERTIES LABELS gpu)

set(MICL_CUDA_MAX_STACK_BYTES 256 CACHE STRING
    "Largest stack frame (local memory, bytes per thread) a CUDA kernel may use")
add_test(NAME cuda_ptxas_report
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/ptxas_report.sh ${CMAKE_BINARY_DIR}/ptxas
                 ${MICL_CUDA_MAX_STACK_BYTES} ${CMAKE_BINARY_DIR}/ptxas_report.txt
                 ${MICL_CUDA_SOURCES})
set_tests_properties(cuda_ptxas_report PROPERTIES LABELS gpu)
