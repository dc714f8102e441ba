# config.cmake - tests of common/: the random numbers, and the config (common/config_*.c):
# loading a full file, defaults, every rejected input under bad_config/ (through
# micl_bad_input_test: exit 1, the message, nothing written), and docs/CONFIG.md being exactly the
# reference generated from the schema; and the JSON writer (test_json_out).

micl_unit_test(test_rng test_rng.c)
micl_unit_test(config_load test_config.c)

micl_test_executable(config_check config_check.c)

# config_bad(name regex): bad_config/<name>.cfg must fail with a message matching regex.
function(config_bad name regex)
  micl_bad_input_test(NAME config_bad_${name} EXIT 1 MESSAGE "${regex}" ${ARGN}
    COMMAND $<TARGET_FILE:config_check> ${CMAKE_CURRENT_LIST_DIR}/bad_config/${name}.cfg)
endfunction()

set(_s "\\[0\\].stages\\[0\\]")
config_bad(syntax_error "micl: error: [^ ]*syntax_error.cfg:3: syntax error: syntax error")
config_bad(unknown_key
  "unknown_key.cfg:3: unknown key 'train.lr_max' \\(did you mean 'train.lr'\\?\\)")
config_bad(unknown_key_typo
  "unknown_key_typo.cfg:2: unknown key 'model.hedas' \\(did you mean 'model.heads'\\?\\)")
config_bad(unknown_key_far "unknown_key_far.cfg:3: unknown key 'model.banana'[^(]*$"
  ABSENT "did you mean")
config_bad(unknown_key_level
  "unknown_key_level.cfg:2: unknown key 'lr' \\(did you mean 'train.lr'\\?\\)")
config_bad(unknown_stage_key
  "unknown_stage_key.cfg:3: unknown key 'runs${_s}.item' \\(did you mean 'runs${_s}.items'\\?\\)")
config_bad(wrong_type "wrong_type.cfg:3: key 'train.steps' must be an integer, got a string")
config_bad(int_got_float "int_got_float.cfg:2: key 'model.dim' must be an integer, got a float")
config_bad(wrong_type_group "wrong_type_group.cfg:1: key 'model' must be a group, got an integer")
config_bad(out_of_range "out_of_range.cfg:4: key 'model.dim' = 5000 is out of range \\[8, 4096\\]")
config_bad(float_out_of_range
  "float_out_of_range.cfg:2: key 'runs${_s}.replay' = 1.5 is out of range \\[0, 1\\]")
config_bad(exact_copy_range
  "exact_copy_range.cfg:2: key 'runs${_s}.exact_copy\\[0\\]' = 1.5 is out of range \\[0, 1\\]")
config_bad(bad_family
  "bad_family.cfg:2: key 'runs${_s}.family' = .bind. is not a valid family \\(valid: classify, binding, mc, matching, attributes, counting, relations, count_induction, operators, captions, named, bursty, arithmetic\\)")
config_bad(ways_reversed
  "ways_reversed.cfg:2: key 'runs${_s}.ways' = \\[5, 2\\] must be \\[min, max\\] with min <= max")
config_bad(ways_length "ways_length.cfg:2: key 'runs${_s}.ways' must have 2 elements, got 1")
config_bad(items_zero "items_zero.cfg:2: key 'runs${_s}.items' = 0 is out of range \\[1, 256\\]")
config_bad(patch_not_divisor
  "patch_not_divisor.cfg: key 'model.patch' = 5 must divide model.image_size = 28")
config_bad(odd_head_size "odd_head_size.cfg: key 'model.heads' = 32 gives an odd head size")
config_bad(glyph_size_mismatch
  "glyph_size_mismatch.cfg: key 'data.glyphs.size' = 32 must equal model.image_size = 28")
config_bad(glyph_invert_range
  "glyph_invert_range.cfg:3: key 'data.glyphs.invert' = 1.5 is out of range \\[0, 1\\]")
config_bad(lr_below_min "lr_below_min.cfg: key 'train.min_lr' = 0.001 must not exceed train.lr")
config_bad(eval_unsorted
  "eval_unsorted.cfg:2: key 'eval.shots' must be sorted and unique, but 1 follows 2")
config_bad(eval_empty "eval_empty.cfg:2: key 'eval.ways' must have 1 to 16 elements, got 0")
config_bad(no_runs "no_runs.cfg: key 'runs' is missing: at least one run is required")
config_bad(duplicate_run
  "duplicate_run.cfg: key 'runs\\[1\\].name' = .baseline. repeats the name of runs\\[0\\]")
config_bad(run_without_name "run_without_name.cfg:2: run runs\\[0\\] has no 'name'")
config_bad(no_stages
  "no_stages.cfg:2: key 'runs\\[0\\].stages' must have 1 to 8 elements, got 0")
config_bad(too_many_stages
  "too_many_stages.cfg:2: key 'runs\\[0\\].stages' must have 1 to 8 elements, got 9")
config_bad(bad_name
  "bad_name.cfg:1: key 'name' = .my run/1. may only contain letters, digits")

micl_bad_input_test(NAME config_missing_file EXIT 1 MESSAGE "does_not_exist.cfg"
  COMMAND $<TARGET_FILE:config_check> ${CMAKE_CURRENT_LIST_DIR}/bad_config/does_not_exist.cfg)

add_test(NAME config_docs_up_to_date
  COMMAND ${CMAKE_COMMAND} -DCHECK=$<TARGET_FILE:config_check>
    -DDOCS=${CMAKE_SOURCE_DIR}/docs/CONFIG.md -DOUT=${CMAKE_CURRENT_BINARY_DIR}/CONFIG.md
    -P ${CMAKE_CURRENT_LIST_DIR}/scripts/config_docs.cmake)

# Every shipped experiment file under configs/ must load.
file(GLOB _config_examples CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/configs/*.cfg)
foreach(cfg ${_config_examples})
  get_filename_component(_n ${cfg} NAME_WE)
  add_test(NAME config_example_${_n} COMMAND config_check ${cfg})
endforeach()
config_bad(mix_sum "mix_sum.cfg:3: key 'runs${_s}.mix' shares sum to 0.8[;] they must sum to 1")
config_bad(mix_and_family
  "mix_and_family.cfg:3: key 'runs${_s}.family' and 'runs${_s}.mix' both given")
config_bad(mix_unknown_family
  "mix_unknown_family.cfg:2: unknown key 'runs${_s}.mix.bindings' \\(did you mean 'runs${_s}.mix.binding'\\?\\)")
config_bad(replay_mix_sum
  "replay_mix_sum.cfg:3: key 'runs${_s}.replay_mix' shares sum to 0.8[;] they must sum to 1")
config_bad(replay_mix_no_scenes
  "replay_mix_no_scenes.cfg: run 'a' stage 's' has counting episodes but data.scenes.images = 0")
config_bad(tokens_and_items
  "tokens_and_items.cfg:2: keys 'train.items_per_step' and 'train.tokens_per_step' both given")
config_bad(coherent_not_bool
  "coherent_not_bool.cfg:2: key 'runs${_s}.coherent' must be true or false, got an integer")

# Sweep sections (`micl sweep`): axes are checked like the keys they set.
set(_a "sweep.axes\\[0\\]")
config_bad(sweep_axis_field "sweep_axis_field.cfg:3: unknown key '${_a}.step' \\(an axis has 'key' and 'values'\\)")
config_bad(sweep_axis_list_key
  "sweep_axis_list_key.cfg:3: key '${_a}.key' = .eval.ways.: an axis can only set a single number or string")
config_bad(sweep_axis_range
  "sweep_axis_range.cfg:3: key '${_a}.values\\[1\\]' = 5000 is out of range \\[8, 4096\\]")
config_bad(sweep_replay_range
  "sweep_replay_range.cfg:3: key '${_a}.values\\[1\\]' = 1.5 is out of range \\[0, 1\\]")
config_bad(sweep_repeat_key
  "sweep_repeat_key.cfg:5: key 'sweep.axes\\[1\\].key' = .seed. repeats the key of axis 0")
config_bad(sweep_no_values "sweep_no_values.cfg:3: keys '${_a}.key' and '${_a}.values' are both required")
config_bad(sweep_ranks_zero
  "sweep_ranks_zero.cfg:3: key 'sweep.ranks_per_run' = 0 is out of range \\[1, 4096\\]")
config_bad(sweep_too_many "sweep_too_many.cfg:[0-9]+: key 'sweep.axes' expands to more than 4096 runs")

# What libconfig would take silently or fail on without a location (common/config_load.c):
# an @include of a directory, a device or a FIFO (which would block forever), the seed -2^63
# (negative, not "too large"), and the ranges the model enforces, checked at load time.
config_bad(include_directory
  "include_directory.cfg:2: @include \"/tmp\" is a directory, not a regular file")
config_bad(include_device "include_device.cfg:2: @include \"/dev/null\" is a device, not a regular file")
micl_bad_input_test(NAME config_bad_include_fifo EXIT 1 TIMEOUT 30
  MESSAGE "fifo.cfg:2: @include \"fifo\" is a FIFO, not a regular file"
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/scripts/include_fifo.sh $<TARGET_FILE:config_check>)
config_bad(seed_negative_min
  "seed_negative_min.cfg:2: key 'seed' = -9223372036854775808 must be >= 0" ABSENT "64 bits")
config_bad(max_seq_too_large
  "max_seq_too_large.cfg:2: key 'model.max_seq' = 8192 is out of range \\[8, 1024\\]")
config_bad(too_many_patches
  "too_many_patches.cfg: key 'model.patch' = 1 gives \\(64 / 1\\)\\^2 = 4096 patches per image[;] at most 1024")

# The JSON writer every JSON output goes through (common/json_out.h).
micl_unit_test(test_json_out test_json_out.c)
