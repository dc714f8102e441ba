# worker.cmake - tests of worker/: the optimizer step (the bench's timed step is the trainer's,
# test_step.c, at np 1 and 2), the evaluator's single-pass shot curves, checkpoints, and the
# training step loop allocating nothing, the scoring of multi-token answers.
micl_test_executable(test_step test_step.c)
foreach(np 1 2)
  add_test(NAME step_bench_is_trainer_np${np}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:test_step>)
  set_tests_properties(step_bench_is_trainer_np${np} PROPERTIES PROCESSORS 2 ENVIRONMENT "${MICL_TEST_ENV}")
endforeach()

# Binding shot curves: single pass over the KV cache == re-prompting, every cell; the same
# counts for np=1 and np=2.
micl_test_executable(test_eval_curve test_eval_curve.c)
add_test(NAME eval_curve_single_pass_np1_vs_np2
         COMMAND sh -c "\"$0\" -np 1 \"$1\" > eval_curve_np1.txt && \"$0\" -np 2 \"$1\" > eval_curve_np2.txt && cat eval_curve_np1.txt && diff eval_curve_np1.txt eval_curve_np2.txt"
                 ${MPIEXEC_EXECUTABLE} $<TARGET_FILE:test_eval_curve>
         WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(eval_curve_single_pass_np1_vs_np2 PROPERTIES PROCESSORS 2 ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)

# Multi-token answers: both scoring rules on hand-made logits, greedy decoding against a plain
# one-pass-per-token loop.
micl_test_executable(test_eval_score test_eval_score.c)
add_test(NAME eval_score_multi_token COMMAND test_eval_score)
set_tests_properties(eval_score_multi_token PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}")

# Checkpoints: channels, task words and question ids round trip.
micl_test_executable(test_checkpoint_vocab test_checkpoint_vocab.c)
add_test(NAME test_checkpoint_vocab COMMAND test_checkpoint_vocab)
set_tests_properties(test_checkpoint_vocab PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}")

# The training step loop allocates nothing (malloc calls counted by an LD_PRELOAD library,
# tests/lib/malloc_count.c; not under the sanitizers, which replace malloc themselves).
if(NOT MICL_SANITIZE AND NOT MICL_FUZZ)
  add_library(malloc_count SHARED ${MICL_TEST_LIB}/malloc_count.c)
  add_test(NAME train_step_no_alloc
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/step_alloc.sh $<TARGET_FILE:micl> ${CMAKE_SOURCE_DIR}
                   ${CMAKE_CURRENT_BINARY_DIR}/step_alloc $<TARGET_FILE:malloc_count>)
  set_tests_properties(train_step_no_alloc PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)
endif()

# The training sequences of a step: train.tokens_per_step (exact tokens, the items step's
# sequences with the last one cut), unrelated one-turn items, replay_mix.
micl_unit_test(test_sampler test_sampler.c)

# The thread team's policy on a simulated machine (worker/team.h): the full team when quiet, one
# thread beside a neighbour, switches both ways, ties to the smaller team, the probes' cost.
micl_unit_test(test_team test_team.c)
