#!/usr/bin/env bash
# check_links.sh MODULE PROGRAM... - the link boundaries of the CUDA build (gpu.cmake):
#  - no PROGRAM (micl, the tests) has a NEEDED entry of a CUDA library: they reach CUDA only
#    through dlopen of the module, so they start where CUDA is missing;
#  - MODULE (libmicl_cuda.so) needs neither libcuda (the driver library, whose link-time copy in
#    the toolkit loads nowhere) nor a shared cudart (it holds a static one);
#  - MODULE exports one symbol, its entry point micl_cuda_backend_open.
set -euo pipefail
module=$1
shift
fail=0
needed() { readelf -d "$1" | awk '/\(NEEDED\)/ { gsub(/[][]/, "", $NF); print $NF }'; }
forbid() { # regex file
    local got bad
    got=$(needed "$2")
    echo "$(basename "$2") NEEDED: $(echo $got)"
    bad=$(echo "$got" | grep -E "$1" || true)
    if [ -n "$bad" ]; then
        echo "FAIL: $2 needs $(echo $bad)"
        fail=1
    fi
}
for p in "$@"; do
    forbid '^lib(cuda|cudart|cublas|cublasLt|nccl|cudnn|nvrtc|nvidia-ml)\.' "$p"
done
forbid '^lib(cuda|cudart)\.' "$module"
exports=$(nm -D --defined-only "$module" | awk 'NF == 3 { print $3 }' | sort | tr '\n' ' ')
echo "$(basename "$module") exports: $exports"
if [ "$exports" != "micl_cuda_backend_open " ]; then
    echo "FAIL: $module must export micl_cuda_backend_open and nothing else"
    fail=1
fi
exit $fail
