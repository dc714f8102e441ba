# kernels/cpu/isa.cmake - the CPU kernels, compiled once per instruction set.
#
#   micl_cpu_kernels(<library> <include-dir>...)
#
# adds to <library> kernels/cpu/isa.c (compiled once, for the baseline: it picks a build at
# start-up) and, for each instruction set, an object library of every other file of
# kernels/cpu compiled with -DKERN_ISA_LEVEL=<n> and that set's flags; isa_names.h gives each
# build's functions names of their own. "scalar" (level 0) is always built: the portable vf8 of
# vec.h, for any processor. On x86-64, "avx2" (1: -mavx2 -mfma) and "avx512" (2: AVX-512 F, BW,
# DQ, VL; the flags isa.c checks the processor for) as well. The include directories are the
# library's view of the tree (the rooms: CMakeLists.txt). The top CMakeLists.txt and
# tests/gpu/standalone both build the kernels through this function.
set(MICL_CPU_KERNELS_DIR ${CMAKE_CURRENT_LIST_DIR})

function(micl_cpu_kernels lib)
  file(GLOB srcs CONFIGURE_DEPENDS ${MICL_CPU_KERNELS_DIR}/*.c)
  list(FILTER srcs EXCLUDE REGEX "/isa\\.c$")
  set(isas scalar)
  set(level_scalar 0)
  set(flags_scalar "")
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    list(APPEND isas avx2 avx512)
    set(level_avx2 1)
    set(flags_avx2 -mavx2 -mfma)
    set(level_avx512 2)
    set(flags_avx512 -mavx2 -mfma -mavx512f -mavx512bw -mavx512dq -mavx512vl
                     -mprefer-vector-width=512)
    target_compile_definitions(${lib} PRIVATE KERN_CPU_HAVE_AVX2=1 KERN_CPU_HAVE_AVX512=1)
  endif()
  foreach(isa ${isas})
    set(obj ${lib}_${isa})
    add_library(${obj} OBJECT ${srcs})
    target_compile_definitions(${obj} PRIVATE KERN_ISA_LEVEL=${level_${isa}})
    target_compile_options(${obj} PRIVATE $<$<COMPILE_LANGUAGE:C>:${flags_${isa}}>)
    target_include_directories(${obj} PRIVATE ${ARGN})
    target_link_libraries(${obj} PRIVATE OpenMP::OpenMP_C)
    target_sources(${lib} PRIVATE $<TARGET_OBJECTS:${obj}>)
  endforeach()
  target_sources(${lib} PRIVATE ${MICL_CPU_KERNELS_DIR}/isa.c)
endfunction()
