# bench_eval.cmake - smoke test of `micl bench eval` (bench/bench_eval.c): the tiny
# preset with random weights, one repeat; it must exit 0 and write an HDF5 file of kind
# "micl-bench", benchmark "eval", with identical single-pass and re-prompting counts in every
# cell. No timing is asserted. Bad command lines must fail with a message (micl_bad_input_test).
set(BENCH_EVAL_CHECK [=[
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    a = f.attrs
    assert a["kind"] == "micl-bench" and int(a["schema_version"]) == 3, dict(a)
    assert a["measurement"] == "eval" and a["config"] == "tiny" and int(a["episodes"]) == 10
    assert int(a["scores_identical"]) == 1 and a["speedup"] > 0
    assert list(f["ways"][()]) == [2, 5] and list(f["shots"][()]) == [0, 1, 2, 4, 8]
    assert f["single_pass_s"].shape == (2,) and (f["single_pass_s"][()] > 0).all()
    assert f["reprompt_s"].shape == (2,) and (f["reprompt_s"][()] > 0).all()
    assert (f["correct"][()] == f["reprompt_correct"][()]).all()
    assert (f["exact"][()] == f["reprompt_exact"][()]).all()
    assert f["correct"].shape == (10,) and (f["correct"][()] <= 10).all()
print("ok", sys.argv[1])
]=])
set(out ${CMAKE_CURRENT_BINARY_DIR}/bench_eval.h5)
add_test(NAME bench_eval_tiny
         COMMAND bash -c "rm -f \"$1\" && \"$0\" bench eval --config tiny --episodes 10 --repeats 1 --threads 1 -o \"$1\" && \"$2\" -c \"$3\" \"$1\""
                 $<TARGET_FILE:micl> ${out} ${MICL_PYTHON} ${BENCH_EVAL_CHECK})
set_tests_properties(bench_eval_tiny PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)
# bad input (micl_bad_input_test): prompts longer than the model's max_seq, a checkpoint without
# its dataset, a bad preset; each with its exit code and message, and no output file.
micl_bad_input_test(NAME bench_eval_bad_input_max_seq EXIT 1
  MESSAGE "5-way 20-shot prompts need 203 tokens but tiny has max_seq 96"
  COMMAND $<TARGET_FILE:micl> bench eval --config tiny --ways 5 --shots 0,20 -o out.h5)
micl_bad_input_test(NAME bench_eval_bad_input_checkpoint_alone EXIT 2 MESSAGE "go together"
  COMMAND $<TARGET_FILE:micl> bench eval --checkpoint x.h5)
micl_bad_input_test(NAME bench_eval_bad_input_preset EXIT 2
  MESSAGE "expects 'quickstart' or 'tiny'"
  COMMAND $<TARGET_FILE:micl> bench eval --config huge)
