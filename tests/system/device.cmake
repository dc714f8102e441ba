# device.cmake - what computes the model (worker/device.h, --device, model.device): the
# host-staging paths of a device backend run on the CPU (MICL_TEST_HOST_AS_DEVICE) give the
# plain CPU run's bytes; on a GPU (label gpu; skipped, exit 77, where gpu_probe cannot open the
# CUDA backend) training matches the CPU within tolerances, repeats and resumes bit for bit,
# and evaluation gives the CPU's counts.
add_test(NAME host_as_device_same_bytes
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/host_as_device_test.sh $<TARGET_FILE:micl>
                 ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/host_as_device)
set_tests_properties(host_as_device_same_bytes PROPERTIES PROCESSORS 2 ENVIRONMENT "${MICL_TEST_ENV}"
                     TIMEOUT 600)

micl_test_executable(gpu_probe gpu_probe.c)
add_dependencies(gpu_tests gpu_probe) # built by CI's CUDA step, which builds gpu_tests only
foreach(case parity repeat resume eval)
  add_test(NAME gpu_e2e_${case}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/gpu_e2e_test.sh $<TARGET_FILE:micl> ${CMAKE_SOURCE_DIR}
                   ${CMAKE_CURRENT_BINARY_DIR}/gpu_e2e_${case} $<TARGET_FILE:gpu_probe> ${case})
  set_tests_properties(gpu_e2e_${case} PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 600
                       LABELS gpu SKIP_RETURN_CODE 77 RESOURCE_LOCK gpu)
endforeach()

