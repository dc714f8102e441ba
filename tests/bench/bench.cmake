# bench.cmake - smoke tests of `micl bench` (bench/bench_step.c,
# tests/reference/bench_torch.py): each benchmark runs the tiny preset for 2 steps and must exit 0
# and write an HDF5 file of kind "micl-bench", schema 1, with one step time per timed step (and,
# for vs-torch, torch's times, a passing first-step loss check and the OpenBLAS core type it
# gave torch, one of those its probe tried). No timing is asserted.
  set(BENCH_CHECK [=[
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    a = f.attrs
    assert a["kind"] == "micl-bench" and int(a["schema_version"]) == 3, dict(a)
    assert a["measurement"] == sys.argv[2] and a["config"] == "tiny" and int(a["steps"]) == 2
    for k in ("threads", "hostname", "created", "tokens_per_s", "gflops", "max_rss_kib"):
        assert k in a, k
    assert f["step_ms"].shape == (2,) and (f["step_ms"][()] > 0).all()
    assert int(a["neighbours"]) == 0 and a["omp_wait_policy"], dict(a)
    if sys.argv[2] == "vs-torch":
        assert f["torch_step_ms"].shape == (2,) and int(a["loss_check_ok"]) == 1
        assert a["ratio_tokens_per_s"] > 0
        # the OpenBLAS probe (bench/openblas_probe.h): the chosen core type is one that was
        # tried and ran correctly, the fastest or the default within 3% of it
        tried = [s.decode() for s in f["torch_openblas_probe_coretype"][()]]
        ok, g = f["torch_openblas_probe_ok"][()], f["torch_openblas_probe_gflops"][()]
        chosen = a["torch_openblas_coretype"]
        assert tried[0] == "default" and len(tried) >= 1 and a["torch_openblas_coretype_reason"]
        assert chosen in tried and ok[tried.index(chosen)] == 1, (chosen, tried, ok)
        best = max(x for x, o in zip(g, ok) if o)
        assert g[tried.index(chosen)] * 1.03 >= best, (chosen, g)
        for k in ("torch_openblas_probe_corename", "torch_openblas_probe_rel_err"):
            assert f[k].shape == (len(tried),), k
    else:
        assert a["gemm_peak_gflops"] > 0
print("ok", sys.argv[1])
]=])
  foreach(b step vs-torch)
    set(out ${CMAKE_CURRENT_BINARY_DIR}/bench_${b}.h5)
    add_test(NAME bench_${b}_tiny
             COMMAND bash -c "rm -f \"$2\" && \"$0\" bench $1 --config tiny --steps 2 --warmup 1 --threads 1 -o \"$2\" && \"$3\" -c \"$4\" \"$2\" $1"
                     $<TARGET_FILE:micl> ${b} ${out} ${MICL_PYTHON} ${BENCH_CHECK})
    set_tests_properties(bench_${b}_tiny PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)
  endforeach()
  # With 3 threads the step runs its micro-batches two at a time (1 + 2 threads, nested): the
  # per-step losses must be the 1-thread bits.
  set(BENCH_SAME_LOSS [=[
import sys, h5py
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
assert int(b.attrs["threads"]) == 3
la, lb = a["loss"][()], b["loss"][()]
assert la.tobytes() == lb.tobytes(), (la, lb)
print("losses bit-identical at 1 and 3 threads:", lb.tolist())
]=])
  add_test(NAME bench_step_tiny_threads
           COMMAND bash -c "\"$0\" bench step --config tiny --steps 3 --warmup 1 --threads 1 -o t1.h5 && \"$0\" bench step --config tiny --steps 3 --warmup 1 --threads 3 -o t3.h5 && \"$1\" -c \"$2\" t1.h5 t3.h5"
                   $<TARGET_FILE:micl> ${MICL_PYTHON} ${BENCH_SAME_LOSS}
           WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(bench_step_tiny_threads PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)

# Timing program for the quickstart workload (run by hand: bench_vlm [threads] [steps]).
micl_test_executable(bench_vlm bench_vlm.c)
