# bench_fair.cmake - the conditions of a speed measurement: busy neighbour processes
# (`micl bench step --neighbour N`, bench/neighbours.h), micl's default OpenMP waiting policy
# (common/wait_policy.h) and the OpenBLAS core type `bench gemm` loads (bench/openblas_probe.h;
# vs-torch's is checked in bench.cmake). No timing is asserted.

# No neighbour outlives its bench: neither a finished one nor one stopped by SIGTERM. A
# neighbour is a fork of micl, so its command line is micl's (with the unique output path).
set(BENCH_NO_NEIGHBOUR [=[
import os, sys, time
out = sys.argv[1]
time.sleep(0.3)  # the kernel's SIGKILL for an orphan (PR_SET_PDEATHSIG) is asynchronous
left = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        argv = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
    except OSError:
        continue
    if len(argv) > 2 and argv[1] == b"bench" and out.encode() in argv:
        left.append(pid)
assert not left, "neighbour processes left: %s" % left
print("no neighbour left for", out)
]=])
set(BENCH_NEIGHBOUR_CHECK [=[
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert int(f.attrs["neighbours"]) == 2, dict(f.attrs)
    assert f["step_ms"].shape == (2,)
print("neighbours recorded")
]=])
set(out ${CMAKE_CURRENT_BINARY_DIR}/bench_step_neighbour.h5)
add_test(NAME bench_step_tiny_neighbour
         COMMAND bash -c "rm -f \"$1\" && \"$0\" bench step --config tiny --steps 2 --warmup 1 --threads 1 --neighbour 2 -o \"$1\" | grep -q 'neighbours          2 busy' && \"$2\" -c \"$3\" \"$1\" && \"$2\" -c \"$4\" \"$1\""
                 $<TARGET_FILE:micl> ${out} ${MICL_PYTHON} ${BENCH_NEIGHBOUR_CHECK} ${BENCH_NO_NEIGHBOUR})
set(out ${CMAKE_CURRENT_BINARY_DIR}/bench_step_neighbour_term.h5)
add_test(NAME bench_step_neighbour_stopped_by_signal
         COMMAND bash -c "rm -f \"$1\"; timeout -s TERM 3 \"$0\" bench step --config quickstart --steps 100000 --warmup 0 --threads 1 --neighbour 2 -o \"$1\"; rc=$?; test $rc = 124 || { echo \"exit $rc, expected the timeout's 124\"; exit 1; }; test ! -e \"$1\" && \"$2\" -c \"$3\" \"$1\""
                 $<TARGET_FILE:micl> ${out} ${MICL_PYTHON} ${BENCH_NO_NEIGHBOUR})

# The waiting policy: micl's default when the user set neither variable (also in every rank
# under mpirun: the re-exec keeps the process id), the user's setting when they did.
set(BENCH_WAIT_CHECK [=[
import sys, h5py
pol = h5py.File(sys.argv[1], "r").attrs["omp_wait_policy"]
want = sys.argv[2]
if want == "micl":
    assert pol.startswith("GOMP_SPINCOUNT=") and pol.endswith("(micl default)"), pol
else:
    assert pol == want, (pol, want)
print(sys.argv[1], pol)
]=])
add_test(NAME bench_step_wait_policy
         COMMAND bash -c "set -e; unset OMP_WAIT_POLICY GOMP_SPINCOUNT; run() { rm -f w.h5; \"$@\" bench step --config tiny --steps 1 --warmup 0 -o w.h5 | grep 'OpenMP waiting'; }; run \"$0\"; \"$1\" -c \"$2\" w.h5 micl; OMP_WAIT_POLICY=passive run \"$0\"; \"$1\" -c \"$2\" w.h5 'OMP_WAIT_POLICY=passive (environment)'; GOMP_SPINCOUNT=0 run \"$0\"; \"$1\" -c \"$2\" w.h5 'GOMP_SPINCOUNT=0 (environment)'; run \"$3\" -np 2 \"$0\"; \"$1\" -c \"$2\" w.h5 micl"
                 $<TARGET_FILE:micl> ${MICL_PYTHON} ${BENCH_WAIT_CHECK} ${MPIEXEC_EXECUTABLE} w.h5
         WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(bench_step_tiny_neighbour bench_step_neighbour_stopped_by_signal
                     bench_step_wait_policy PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)

# `bench gemm --openblas-coretype NAME` loads OpenBLAS with that core type only (the probe
# checks it); `default` leaves the variable unset.
set(BENCH_GEMM_CORETYPE [=[
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    tried = [s.decode() for s in f["openblas_probe_coretype"][()]]
    assert tried == ["default"] and f.attrs["openblas_coretype"] == "default", tried
    assert f.attrs["openblas_coretype_reason"] == "requested (default)"
print("ok", tried)
]=])
set(out ${CMAKE_CURRENT_BINARY_DIR}/bench_gemm_coretype.h5)
add_test(NAME bench_gemm_openblas_coretype_default
         COMMAND bash -c "rm -f \"$1\" && \"$0\" bench gemm --config tiny --threads 1 --min-ms 1 --openblas-coretype default -o \"$1\" && \"$2\" -c \"$3\" \"$1\""
                 $<TARGET_FILE:micl> ${out} ${MICL_PYTHON} ${BENCH_GEMM_CORETYPE})
set_tests_properties(bench_gemm_openblas_coretype_default PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)

micl_bad_input_test(NAME bench_bad_torch_coretype_on_step EXIT 2 USAGE
  MESSAGE "^micl bench step: --torch-coretype is an option of bench vs-torch$"
  COMMAND $<TARGET_FILE:micl> bench step --torch-coretype SkylakeX -o out.h5)
micl_bad_input_test(NAME bench_bad_neighbour EXIT 2 USAGE
  MESSAGE "^micl bench step: --neighbour expects an integer in \\[0, 64\\], got '65'"
  COMMAND $<TARGET_FILE:micl> bench step --neighbour 65 -o out.h5)
