# slurm.cmake - Slurm: a real single-node cluster (slurm/local_cluster.sh), sbatch + srun,
# preemption by signal and resume. Skipped (exit 77) where Slurm is not installed or not running as root.
# Release build only: under the sanitizers these two took five minutes of the CI budget, and the
# micl code they run (training, the stop flag, checkpoints, resume, merge) is run there by
# resume_bit_identical, sweep_resume and the signal tests; what is theirs alone is Slurm and the
# scripts, which the sanitizers do not see.
if(NOT MICL_SANITIZE)
  add_test(NAME slurm_sbatch_preempt_resume
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/slurm_test.sh $<TARGET_FILE:micl>
                   ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/slurm)
  set_tests_properties(slurm_sbatch_preempt_resume PROPERTIES PROCESSORS 2 TIMEOUT 600
                       SKIP_RETURN_CODE 77 RESOURCE_LOCK slurm
                       ENVIRONMENT "${MICL_TEST_ENV}")

  # Sweeps under Slurm: a batch job, a job preempted by USR1 that requeues itself and resumes, and
  # a job array of shards merged with `micl results merge`, each against an mpirun sweep.
  add_test(NAME slurm_sweep_requeue_array
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/slurm_sweep_test.sh $<TARGET_FILE:micl>
                   ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/slurm_sweep)
  set_tests_properties(slurm_sweep_requeue_array PROPERTIES PROCESSORS 2 TIMEOUT 600
                       SKIP_RETURN_CODE 77 RESOURCE_LOCK slurm
                       ENVIRONMENT "${MICL_TEST_ENV}")
endif()
