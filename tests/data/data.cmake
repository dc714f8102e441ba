# data.cmake - tests of the data layer (data/store.c, idx.c, fmnist.c, glyphs.c, prepare.c,
# episode.c, task_scene.c). test_data_bad.c checks the readers' rejections in-process: it forks a
# child per case and checks exit status, message and leftover files itself (the readers are
# called directly, on inputs no micl command can reach alone); the bad inputs that micl
# commands reach go through micl_bad_input_test / expect_fail.
micl_unit_test(test_data_store test_data_store.c)
micl_unit_test(test_data_idx test_data_idx.c)
micl_unit_test(test_data_bad test_data_bad.c)
micl_unit_test(test_data_glyphs test_data_glyphs.c)
micl_unit_test(test_data_fmnist test_data_fmnist.c)
# Diverse train classes (script characters, procedural shapes) and augmentation of the glyph store.
micl_unit_test(test_data_glyph_extra test_data_glyph_extra.c)
set_tests_properties(test_data_glyphs test_data_glyph_extra test_data_fmnist
  PROPERTIES SKIP_RETURN_CODE 77)
micl_bad_input_test(NAME data_bad_glyph_scripts EXIT 1
  MESSAGE "glyphs: the fonts in data.glyphs.script_fonts have [0-9]+ script characters in common, but data.glyphs.script_classes = 5000"
  COMMAND $<TARGET_FILE:micl> data prepare ${CMAKE_CURRENT_LIST_DIR}/bad_glyph_scripts.cfg)
micl_unit_test(test_episode test_episode.c)
# Scene and operator task families (data/task_scene.c), the scene renderer and the vocabulary's
# task-word section.
micl_unit_test(test_task_scene test_task_scene.c)
# Fixed fake names and the named / bursty families, one-turn mc and matching, and the paper's
# FS-ICL episodes (fsicl, fsicl_random: data/fsicl.c).
micl_unit_test(test_families test_families.c)
# The model-free readers (data/reference.c) on hand-made episodes: answers, ties, matching.
micl_unit_test(test_reference test_reference.c)
