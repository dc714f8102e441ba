# device.cmake - model.device, model.precision, train.reduce and --device: the keys' checks
# (file:line: key), a device that cannot be opened (exit 1 on every rank with one message,
# nothing written; MICL_CUDA_MODULE=/nonexistent forces the missing-module case in any build),
# and the run identity (test_device_identity: sweep ids change only with another device).
set(_dev ${CMAKE_CURRENT_LIST_DIR}/device)
micl_test_executable(test_device_identity test_device_identity.c)
add_test(NAME device_run_identity COMMAND test_device_identity ${CMAKE_SOURCE_DIR})
set_tests_properties(device_run_identity PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}")

add_test(NAME device_keys_load COMMAND $<TARGET_FILE:config_check> ${_dev}/good.cfg)
set_tests_properties(device_keys_load PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}")

# device_bad_config(name regex): device/<name>.cfg is refused with a message matching regex.
function(device_bad_config name regex)
  micl_bad_input_test(NAME device_config_${name} EXIT 1 MESSAGE "${regex}"
    COMMAND $<TARGET_FILE:config_check> ${_dev}/${name}.cfg)
endfunction()
device_bad_config(bad_device
  "bad_device.cfg:3: key 'model.device' = \"tpu\" is not valid \\(valid: cpu, cuda\\)")
device_bad_config(bad_precision
  "bad_precision.cfg:4: key 'model.precision' = \"fp16\" is not valid \\(valid: fp32, bf16\\)")
device_bad_config(bf16_cpu
  "bf16_cpu.cfg:3: key 'model.precision' = \"bf16\" needs model.device = \"cuda\"")
device_bad_config(bad_reduce
  "bad_reduce.cfg:4: key 'train.reduce' = \"ring\" is not valid \\(valid: tree, allreduce\\)")
device_bad_config(axis_precision
  "axis_precision.cfg:3: key 'sweep.axes\\[0\\].key' = \"model.precision\": a process computes on one device")

set(_nomod ENVIRONMENT MICL_CUDA_MODULE=/nonexistent)
set(_why "needs the CUDA backend module libmicl_cuda.so.*/nonexistent")
micl_bad_input_test(NAME device_cuda_missing_train EXIT 1 ${_nomod}
  MESSAGE "^micl: error: --device cuda: device \"cuda\" ${_why}"
  COMMAND $<TARGET_FILE:micl> train ${CMAKE_SOURCE_DIR}/configs/tiny.cfg --device cuda)
micl_bad_input_test(NAME device_cuda_missing_config_key EXIT 1 ${_nomod}
  MESSAGE "^micl: error: model.device = \"cuda\" \\([^)]*device/cuda.cfg:3\\): device \"cuda\" ${_why}"
  COMMAND $<TARGET_FILE:micl> train ${_dev}/cuda.cfg)
micl_bad_input_test(NAME device_cuda_missing_np2 EXIT 1 ${_nomod}
  MESSAGE "^micl\\[rank 0\\]: error: --device cuda: device \"cuda\" ${_why}"
  ABSENT "rank 1\\]: error" "MPI_ABORT"
  COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2 $<TARGET_FILE:micl> train
          ${CMAKE_SOURCE_DIR}/configs/tiny.cfg --device cuda)
set_tests_properties(device_cuda_missing_np2 PROPERTIES PROCESSORS 2)
micl_bad_input_test(NAME device_cuda_missing_eval_checkpoint EXIT 1 ${_nomod}
  MESSAGE "--device cuda: device \"cuda\" ${_why}"
  COMMAND $<TARGET_FILE:micl> eval --checkpoint a.ckpt.h5 --dataset b.h5 --ways 2 --shots 0,1
          --device cuda)
micl_bad_input_test(NAME device_cuda_missing_eval_config EXIT 1 ${_nomod}
  MESSAGE "--device cuda: device \"cuda\" ${_why}"
  COMMAND $<TARGET_FILE:micl> eval ${CMAKE_SOURCE_DIR}/configs/tiny.cfg --device cuda)
micl_bad_input_test(NAME device_cuda_missing_sweep EXIT 1 ${_nomod}
  MESSAGE "--device cuda: device \"cuda\" ${_why}"
  COMMAND $<TARGET_FILE:micl> sweep ${CMAKE_SOURCE_DIR}/configs/sweep_small.cfg --device cuda)
micl_bad_input_test(NAME device_cuda_missing_bench_step EXIT 1 ${_nomod}
  MESSAGE "--device cuda: device \"cuda\" ${_why}"
  COMMAND $<TARGET_FILE:micl> bench step --config tiny --device cuda -o bench.h5)
micl_bad_input_test(NAME device_cuda_missing_bench_scaling EXIT 1 ${_nomod}
  MESSAGE "--device cuda: device \"cuda\" ${_why}"
  COMMAND $<TARGET_FILE:micl> bench scaling --config tiny --np 1 --steps 1 --warmup 0
          --device cuda -o scaling.h5)
micl_bad_input_test(NAME device_cpu_for_bf16 EXIT 1
  MESSAGE "--device cpu: .*bf16.cfg: key 'model.precision' = \"bf16\" needs model.device = \"cuda\""
  COMMAND $<TARGET_FILE:micl> train ${_dev}/bf16.cfg --device cpu)
micl_bad_input_test(NAME device_with_predictions EXIT 2 USAGE
  MESSAGE "--device with --predictions: no model runs"
  COMMAND $<TARGET_FILE:micl> eval ${CMAKE_SOURCE_DIR}/configs/tiny.cfg --benchmark openmi
          --predictions p.jsonl --device cuda)
micl_bad_input_test(NAME device_unknown_word EXIT 2 USAGE MESSAGE "--device"
  COMMAND $<TARGET_FILE:micl> train ${CMAKE_SOURCE_DIR}/configs/tiny.cfg --device tpu)
