# hostile.cmake - the hostile-input corpus: one ctest per bad file, run through the real micl
# command that reads it (tests/hostile/run.sh). Text cases are committed under
# tests/hostile/config/; binary cases are written at test time by make_hostile (from good files
# that the hostile_setup fixture makes with micl itself). Every test checks, through the shared
# expect_fail (tests/lib/expect_fail.sh), exit status 1, no signal, timeout or sanitizer report,
# a message matching the regex (naming the file, and the key or dataset where there is one) and
# no file left behind. Bad inputs already covered elsewhere (tests/common/bad_config,
# tests/orchestrator/bad_input.*, tests/data/import_test.sh, tests/data/test_data_bad.c) are not
# repeated here.

add_executable(make_hostile ${CMAKE_CURRENT_LIST_DIR}/make_hostile.c)
target_link_libraries(make_hostile PRIVATE micl_core micl_hdf5 ZLIB::ZLIB m)

set(_hostile_work ${CMAKE_CURRENT_BINARY_DIR}/hostile)
# A huge allocation returns NULL under ASan as it does without it, so micl reports it.
set(_hostile_env ${MICL_TEST_ENV} "ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1")

function(hostile_test name)
  add_test(NAME hostile_${name}
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run.sh $<TARGET_FILE:micl>
      $<TARGET_FILE:make_hostile> $<TARGET_FILE:import_make_images> ${CMAKE_SOURCE_DIR}
      ${_hostile_work} ${name} ${ARGN})
  set_tests_properties(hostile_${name} PROPERTIES ENVIRONMENT "${_hostile_env}" TIMEOUT 300)
  if(name STREQUAL "setup")
    set_tests_properties(hostile_setup PROPERTIES FIXTURES_SETUP hostile)
  else()
    set_tests_properties(hostile_${name} PROPERTIES FIXTURES_REQUIRED hostile)
  endif()
endfunction()

# hostile(type case regex): the case's input, command and checks are in hostile/run.sh.
macro(hostile type case regex)
  hostile_test(${type}_${case} "${regex}")
endmacro()

hostile_test(setup)

# --- configs: `micl train X.cfg` (committed under hostile/config/ unless noted)
hostile(config empty "empty.cfg: key 'runs' is missing") # a 0-byte file
hostile(config truncated "truncated.cfg:[0-9]+: syntax error") # cut inside a group
hostile(config float_inf "float_inf.cfg:[0-9]+: key 'train.lr' = inf is out of range") # 1e999
hostile(config float_nan_literal "float_nan_literal.cfg:[0-9]+: syntax error") # lr = nan
hostile(config int_overflow "int_overflow.cfg:22: integer 99999999999999999999 does not fit in 64 bits")
hostile(config int64_for_int "int64_for_int.cfg:[0-9]+: key 'model.dim' = 4294967328 is out of range")
hostile(config negative_size "negative_size.cfg:[0-9]+: key 'model.image_size' = -16 is out of range")
hostile(config zero_steps "zero_steps.cfg:[0-9]+: key 'train.steps' = 0 is out of range")
# every key in range, 137 GB of parameters: reported when allocated (the message names no file)
hostile(config huge_model "out of memory allocating [0-9]+ aligned bytes")
hostile(config include_self "include_self.cfg:[0-9]+: @include \"include_self.cfg\": includes nest too deep")
hostile(config include_missing "include_missing.cfg:[0-9]+: @include \"no-such-file.cfg\": No such file or directory")
hostile(config name_not_utf8 "name_not_utf8.cfg:[0-9]+: key 'name' = .* may only contain")
hostile(config deep_nesting "deep_nesting.cfg:3: syntax error: memory exhausted") # make_hostile
hostile(config nul_byte "nul_byte.cfg: contains a NUL byte") # make_hostile: NUL in a string
hostile(config binary "binary.cfg: contains a NUL byte") # make_hostile: 512 random bytes

# --- image stores: `micl eval --checkpoint GOOD --dataset bad.h5` (make_hostile from a good store)
hostile(store empty "bad.h5: not an HDF5 file")
hostile(store half "bad.h5: cannot open HDF5 file [(]damaged[?][)]")
hostile(store text "bad.h5: not an HDF5 file") # a text file named .h5
hostile(store show_huge_count "bad.h5: dataset /images has 1099511627776 images") # data show
hostile(store huge_count "bad.h5: dataset /images has 1099511627776 images")
hostile(store huge_image "bad.h5: dataset /images has images of 100000 x 100000 pixels")
hostile(store zero_images "bad.h5: dataset /images has 0 images")
hostile(store unwritten_images
  "bad.h5: dataset /images claims 17179869184 bytes but the file stores 0 bytes")
hostile(store images_float "bad.h5: dataset /images has type float, expected uint8")
hostile(store images_scalar "bad.h5: dataset /images is a scalar, expected an array of rank 3")
hostile(store schema_string "bad.h5: attribute schema_version has type variable-length string")
hostile(store source_int "bad.h5: attribute source has type int64, expected a scalar string")
hostile(store class_name_not_utf8 "bad.h5: dataset /class_names: class 0 has a name that is not valid UTF-8")
hostile(store split_out_of_range "bad.h5: dataset /split: image [0-9]+ has split 7")
hostile(store labels_negative "bad.h5: dataset /labels: label -1 of image 3 is out of range")

# damaged global heap (variable-length strings): libhdf5 1.10 hangs or reads out of bounds, so
# micl checks every heap collection before the library reads the file
set(_heap "damaged HDF5 file: the global heap collection at byte [0-9]+ .* is inconsistent")
foreach(type store ckpt results)
  set(_f "bad.h5")
  if(type STREQUAL "ckpt")
    set(_f "bad.ckpt.h5")
  endif()
  hostile(${type} heap_zero_free "${_f}: ${_heap}") # free space of size 0: an endless loop
  hostile(${type} heap_overrun "${_f}: ${_heap}") # a string longer than its collection
endforeach()

# --- checkpoints: `micl eval --checkpoint bad.ckpt.h5 ...`, or `micl train --resume` from it
hostile(ckpt empty "'bad.ckpt.h5' is not an HDF5 file")
hostile(ckpt half "cannot open HDF5 file 'bad.ckpt.h5'")
hostile(ckpt inf_adam "bad.ckpt.h5: dataset /adam_v holds a non-finite value at index 7")
hostile(ckpt dim_mismatch "bad.ckpt.h5.*params.* elements, expected")
hostile(ckpt huge_dim "bad.ckpt.h5: attribute /model/dim = 1099511627776 is out of range")
hostile(ckpt huge_layers "bad.ckpt.h5: attribute /model/layers = 100000 is out of range")
hostile(ckpt params_double "bad.ckpt.h5.*'params' has type float of 8 bytes, expected float of 4")
hostile(ckpt params_rank2 "bad.ckpt.h5.*'params' has 2 dimensions, expected 1")
hostile(ckpt kind_int "bad.ckpt.h5:/: attribute 'kind' is of type integer, expected string")
hostile(ckpt schema_v9 "bad.ckpt.h5: checkpoint schema version 9, this micl reads version 3")
hostile(ckpt config_array "bad.ckpt.h5:/: dataset 'config' holds 3 strings, expected one text")
hostile(ckpt vocab_negative "bad.ckpt.h5: attribute /vocab/first_real = -4 is out of range")
hostile(ckpt vocab_words_short "bad.ckpt.h5: /vocab/words has [0-9]+ words but the model's vocab is")
hostile(ckpt eval_cfg_half "cannot open HDF5 file 'out/base.ckpt.h5'") # micl eval CFG
hostile(ckpt is_results "results.h5: not a micl checkpoint [(]kind 'micl-results'[)]")
hostile(ckpt stage_out_of_range "base.ckpt.h5: attribute /stage = 99 is out of range") # resume
hostile(ckpt stage_beyond_run "base.ckpt.h5: stage 3, but run 'base' has 1 stage[(]s[)]: cannot resume")
hostile(ckpt step_negative "base.ckpt.h5: attribute /step = -5 is out of range") # resume
hostile(ckpt stage_acc_nan "base.ckpt.h5: attribute /stage_acc is not finite") # resume
hostile(ckpt progress_short "base.ckpt.h5.*'loss' has [0-9]+ elements, expected") # resume

# --- results files: `micl report bad.h5`
hostile(results empty "'bad.h5' is not an HDF5 file")
hostile(results half "cannot open HDF5 file 'bad.h5'")
hostile(results text "'bad.h5' is not an HDF5 file") # a text file named .h5
hostile(results schema_string "bad.h5:/: attribute 'schema_version' is of type string, expected integer")
hostile(results schema_v0 "bad.h5: results file schema version 0, this micl reads version")
hostile(results rows_mismatch "bad.h5: /runs/base/eval/dataset has 7 rows but benchmark has 1")
hostile(results too_many_rows "bad.h5: /runs/base/eval has 200 rows, at most 128")
hostile(results episode_start_off "bad.h5: /runs/base/eval/episode_start.1. = [0-9]+, expected [0-9]+")
hostile(results curve_huge
  "bad.h5:/: dataset '/runs/base/train/step' claims 1099511627776 elements .* stores 0 bytes")
hostile(results run_missing "bad.h5: missing group /runs/ghost")
hostile(results run_names_int "bad.h5:/: dataset 'run_names' has type integer of 4 bytes, expected string( |$)")
hostile(results run_is_dataset "bad.h5: /runs/base is not a group")
hostile(results is_checkpoint "base.ckpt.h5: not a micl results file [(]kind 'micl-checkpoint'[)]")

# --- IDX files: `micl data prepare` with one of the four Fashion-MNIST files replaced
hostile(idx empty "train-images-idx3-ubyte.gz: truncated IDX file: header has 0 of 4 bytes")
hostile(idx short_header "train-images-idx3-ubyte.gz: truncated IDX file: header has 2 of 12 bytes")
hostile(idx labels_short "train-labels-idx1-ubyte.gz: 19 labels, but .*train-images-idx3-ubyte.gz has 20 images")
hostile(idx label_out_of_range "train-labels-idx1-ubyte.gz: label 10 of item 0 is out of range")
hostile(idx dims_overflow "train-images-idx3-ubyte.gz: IDX payload is larger than")
hostile(idx test_size_differs "train images are 16 x 16 but t10k images are 14 x 14")
hostile(idx labels_rank3 "train-labels-idx1-ubyte.gz: IDX file has 3 dimensions, expected 1")
hostile(idx plain_truncated "train-images-idx3-ubyte.gz: truncated IDX file: payload has 5020 of 5120")
hostile(idx is_directory "fm/t10k-images-idx3-ubyte.gz: read error: Is a directory")

# --- image folders: `micl data import in -o out.h5`
hostile(import class_not_utf8 "in/b.*: class folder name is not valid UTF-8")
hostile(import only_broken_links "in/bb/[xy].png: cannot stat")
hostile(import only_fifos "in/bb: class folder 'bb' has no images") # FIFOs are skipped, not opened
hostile(import zero_width_png "in/bb/c.png: cannot decode PNG image: libpng: Invalid IHDR data")
hostile(import png_is_directory "in/cc: class folder 'cc' has no images") # x.png/ is a folder

# --- predictions files: `micl eval c.cfg --benchmark fsicl --predictions bad.jsonl` (make_hostile)
set(_pj "bad.jsonl:[0-9]+: invalid JSON at byte [0-9]+:")
hostile(pred nul_byte "bad.jsonl:2: NUL byte in the line")
hostile(pred not_utf8 "${_pj} unable to decode byte 0xe9")
hostile(pred duplicate_key "${_pj} duplicate object key")
hostile(pred nested_duplicate "${_pj} duplicate object key")
hostile(pred escaped_nul "${_pj} .u0000 is not allowed")
hostile(pred lone_surrogate "${_pj} invalid Unicode")
hostile(pred not_object "bad.jsonl:3: expected a JSON object per line")
hostile(pred bom_second_line "bad.jsonl:2: invalid JSON at byte [0-9]+: .* expected near")
hostile(pred truncated "bad.jsonl:2: invalid JSON at byte [0-9]+:")
hostile(pred binary "bad.jsonl:[0-9]+: (NUL byte in the line|invalid JSON)") # 512 random bytes
hostile(pred long_line "bad.jsonl:1: line longer than 1048576 bytes") # 200 MiB, removed after
hostile(pred deep_nesting "bad.jsonl:1: nesting deeper than 64 levels")
hostile(pred huge_file "bad.jsonl: larger than 1073741824 bytes") # sparse
hostile(pred too_many "bad.jsonl:[0-9]+: more than [0-9]+ predictions, the number of episodes")
