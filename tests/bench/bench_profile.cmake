# bench_profile.cmake - `micl bench step --profile` (kernels/profile.h): the timed steps' time per
# kernel. The tiny preset at 1 and 3 threads (paired micro-batches on two threads at once) and
# without the profile: the profile is sorted, adds up to the time inside kernels, which the steps
# contain at 1 thread; every step makes the same calls (whole calls per step, the same counts at
# 1 and 3 threads: no call lost between threads); and counting changes no bit of the losses.
set(BENCH_PROFILE_CHECK [=[
import sys, h5py, numpy as np
one, three, plain = (h5py.File(p, "r") for p in sys.argv[1:4])
assert "profile" not in plain, "a profile without --profile"
def table(f):
    g = f["profile"]
    names = [s.decode() for s in g["kernel"][()]]
    ms, calls = g["ms_per_step"][()], g["calls_per_step"][()]
    assert len(set(names)) == len(names) == len(ms) == len(calls) > 0, names
    assert (ms >= 0).all() and (np.diff(ms) <= 0).all(), ms
    whole = calls * int(f.attrs["steps"])
    assert (np.abs(whole - np.round(whole)) < 1e-9).all() and (whole >= 1).all(), calls
    assert abs(g.attrs["ms_in_kernels"] - ms.sum()) < 1e-9, (g.attrs["ms_in_kernels"], ms.sum())
    return dict(zip(names, calls)), g.attrs["ms_in_kernels"]
c1, k1 = table(one)
c3, _ = table(three)
for k in ("matmul_forward", "matmul_backward", "attention_forward", "layernorm_backward"):
    assert c1.get(k, 0) > 0, (k, c1)
assert c1["adamw_update"] == 1 and c1["grad_norm"] == 1, c1
assert c1 == c3, ("the calls differ at 1 and 3 threads", c1, c3)
step_ms = one["step_ms"][()].mean()
assert 0 < k1 <= step_ms + 1e-3, ("time inside kernels outside the steps", k1, step_ms)
assert one["loss"][()].tobytes() == plain["loss"][()].tobytes() == three["loss"][()].tobytes()
print("ok: %d kernels, %.3f of %.3f ms/step inside kernels" % (len(c1), k1, step_ms))
]=])
add_test(NAME bench_step_profile
         COMMAND bash -c "set -e; rm -f p1.h5 p3.h5 p0.h5; \"$0\" bench step --config tiny --steps 3 --warmup 1 --threads 1 --profile -o p1.h5 | grep -q '^  kernel profile      rank 0, timed steps: '; \"$0\" bench step --config tiny --steps 3 --warmup 1 --threads 3 --profile -o p3.h5 >/dev/null; \"$0\" bench step --config tiny --steps 3 --warmup 1 --threads 1 -o p0.h5 >/dev/null; \"$1\" -c \"$2\" p1.h5 p3.h5 p0.h5"
                 $<TARGET_FILE:micl> ${MICL_PYTHON} ${BENCH_PROFILE_CHECK}
         WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(bench_step_profile PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}" TIMEOUT 300)

micl_bad_input_test(NAME bench_bad_profile_on_vs_torch EXIT 2 USAGE
  MESSAGE "^micl bench vs-torch: --profile is an option of bench step$"
  COMMAND $<TARGET_FILE:micl> bench vs-torch --profile -o out.h5)
micl_bad_input_test(NAME bench_bad_profile_on_device EXIT 2 USAGE
  MESSAGE "^micl bench step: --profile times kernel calls on the host, and --device cuda returns from them before their work is done$"
  COMMAND $<TARGET_FILE:micl> bench step --profile --device cuda -o out.h5)
