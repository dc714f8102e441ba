# bench_more.cmake - smoke tests of `micl bench gemm|comm|scaling` (bench/bench_*.c):
# each runs on the tiny preset or small messages, must exit 0 and write a well-formed HDF5 table
# (kind "micl-bench", one entry per row in every column, the determinism checks passing; gemm's
# column of micl's next-best instruction-set build equal to micl's to the bit). No
# timing is asserted. Bad options must exit 2 with a message (micl_bad_input_test).
set(BENCH_MORE_CHECK [=[
import math, sys, h5py
path, bench = sys.argv[1], sys.argv[2]
with h5py.File(path, "r") as f:
    a = f.attrs
    assert a["kind"] == "micl-bench" and int(a["schema_version"]) == 3, dict(a)
    assert a["measurement"] == bench, a["measurement"]
    for k in ("hostname", "created", "micl_version"):
        assert k in a, k
    if bench == "gemm":
        n = f["M"].shape[0]
        assert n == 35, n  # tiny: 11 layers x 3 products + patch fwd, dW
        for c in ("N", "K", "shape_layer", "shape_product", "shape_config", "gflops_micl_t1",
                  "winner_t1", "rel_diff_openblas", "rel_diff_blis"):
            assert f[c].shape == (n,), c
        assert (f["gflops_micl_t1"][()] > 0).all()
        missing = sys.argv[3] if len(sys.argv) > 3 else ""
        for lib in ("openblas", "blis"):
            g = f["gflops_%s_t1" % lib][()]
            if lib == missing:
                assert all(math.isnan(x) for x in g), g
            else:  # absent from this machine: NaN, present: positive and checked
                assert all(math.isnan(x) for x in g) or (g > 0).all(), g
                d = f["rel_diff_%s" % lib][()]
                assert all(math.isnan(x) or x <= 1e-4 for x in d), d
        tried = [s.decode() for s in f["openblas_probe_coretype"][()]]
        ok = f["openblas_probe_ok"][()]
        assert a["openblas_coretype"] in tried, (a["openblas_coretype"], tried)
        if missing != "openblas":  # the core type OpenBLAS was loaded with ran correctly
            assert ok[tried.index(a["openblas_coretype"])] == 1 or all(o == 0 for o in ok), ok
        libs = [s.decode() for s in f["libraries"][()]]
        assert libs[:3] == ["micl", "openblas", "blis"] and libs[3].startswith("micl-"), libs
        peer = f["gflops_%s_t1" % libs[3]][()]  # micl's next-best build: the same bits
        if a["isa"] == "avx512":
            assert libs[3] == "micl-avx2" and (peer > 0).all(), (libs, peer)
            assert (f["rel_diff_micl-avx2"][()] == 0).all(), f["rel_diff_micl-avx2"][()]
        else:
            assert all(math.isnan(x) for x in peer), peer
    elif bench == "comm":
        assert int(a["ranks"]) == 2
        ops = [s.decode() for s in f["op"][()]]
        assert ops == [o for o in ("allreduce", "reduce_scatter", "broadcast", "tree_reduce",
                                   "tree_scatter") for _ in range(5)], ops
        t, alg, bus = f["time_us"][()], f["algbw_gbs"][()], f["busbw_gbs"][()]
        size = f["size_bytes"][()]
        assert (t > 0).all() and (size == 4 * f["count"][()]).all()
        for i, o in enumerate(ops):
            assert abs(alg[i] - size[i] / t[i] * 1e-3) <= 1e-9 * alg[i]
            fac = {"allreduce": 1.0, "reduce_scatter": 0.5, "broadcast": 1.0, "tree_reduce": 1.0,
                   "tree_scatter": 1.0}[o]
            assert abs(bus[i] - fac * alg[i]) <= 1e-9 * alg[i]
    elif bench == "scaling":
        assert list(f["np"][()]) == [1, 2] and int(a["loss_bit_identical"]) == 1
        su = f["speedup"][()]
        assert su[0] == 1.0 and (su > 0).all() and (f["tokens_per_s"][()] > 0).all()
print("ok", path)
]=])

set(out ${CMAKE_CURRENT_BINARY_DIR}/bench_gemm.h5)
add_test(NAME bench_gemm_tiny
         COMMAND bash -c "rm -f \"$1\" && \"$0\" bench gemm --config tiny --threads 1 --min-ms 1 -o \"$1\" && \"$2\" -c \"$3\" \"$1\" gemm"
                 $<TARGET_FILE:micl> ${out} ${MICL_PYTHON} ${BENCH_MORE_CHECK})
set(out ${CMAKE_CURRENT_BINARY_DIR}/bench_gemm_nolib.h5)
add_test(NAME bench_gemm_missing_library
         COMMAND bash -c "rm -f \"$1\" && \"$0\" bench gemm --config tiny --threads 1 --min-ms 1 --openblas /nonexistent/libopenblas.so.0 -o \"$1\" | grep -q 'openblas skipped: cannot load' && \"$2\" -c \"$3\" \"$1\" gemm openblas"
                 $<TARGET_FILE:micl> ${out} ${MICL_PYTHON} ${BENCH_MORE_CHECK})
set(out ${CMAKE_CURRENT_BINARY_DIR}/bench_comm.h5)
add_test(NAME bench_comm_np2
         COMMAND bash -c "rm -f \"$2\" && \"$0\" -np 2 \"$1\" bench comm --max-bytes 1024 --iters 3 -o \"$2\" && \"$3\" -c \"$4\" \"$2\" comm"
                 ${MPIEXEC_EXECUTABLE} $<TARGET_FILE:micl> ${out} ${MICL_PYTHON} ${BENCH_MORE_CHECK})
set(out ${CMAKE_CURRENT_BINARY_DIR}/bench_scaling.h5)
add_test(NAME bench_scaling_tiny
         COMMAND bash -c "rm -f \"$1\" && MICL_MPIRUN=\"$4\" \"$0\" bench scaling --config tiny --np 1,2 --steps 2 --warmup 1 -o \"$1\" && \"$2\" -c \"$3\" \"$1\" scaling"
                 $<TARGET_FILE:micl> ${out} ${MICL_PYTHON} ${BENCH_MORE_CHECK} ${MPIEXEC_EXECUTABLE})
set_tests_properties(bench_gemm_tiny bench_gemm_missing_library bench_comm_np2 bench_scaling_tiny
                     PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)

# bad options (micl_bad_input_test): exit 2, the message and the usage on stderr, no output file
function(bench_bad case regex)
  string(REPLACE " " "_" tname "${case}")
  string(REPLACE "," "c" tname "${tname}")
  separate_arguments(args UNIX_COMMAND "${case}")
  micl_bad_input_test(NAME bench_bad_${tname} EXIT 2 USAGE
    MESSAGE "^micl bench ${regex}$"
    COMMAND $<TARGET_FILE:micl> bench ${args} -o out.h5)
endfunction()
bench_bad("gemm --threads 0" "gemm: --threads expects an integer in \\[1, 256\\], got '0' \\(in '0'\\)")
bench_bad("gemm --config nope" "gemm: unknown --config 'nope' \\(quickstart, large or tiny\\)")
bench_bad("gemm --min-ms x" "gemm: --min-ms expects an integer in \\[0, 60000\\], got 'x'")
bench_bad("comm --max-bytes 2" "comm: --max-bytes expects an integer in \\[4, 1073741824\\], got '2'")
bench_bad("scaling --np 9 --config tiny"
          "scaling: --np 9 exceeds the 2 micro-batches of preset 'tiny'")
bench_bad("scaling --np 1,,2"
          "scaling: --np expects comma-separated integers in \\[1, 64\\], got '1,,2'")
bench_bad("scaling --steps" "scaling: --steps expects an integer in \\[1, 100000\\], got '-o'")
