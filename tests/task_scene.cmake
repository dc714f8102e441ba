# task_scene.cmake - scene and operator task families (data/task_scene.c), the scene renderer
# and the vocabulary's task-word section.
micl_unit_test(test_task_scene test_task_scene.c)
# Checkpoints: channels, task words and question ids round trip; an older checkpoint loads.
add_executable(test_checkpoint_vocab test_checkpoint_vocab.c)
target_link_libraries(test_checkpoint_vocab PRIVATE micl_core)
add_test(NAME test_checkpoint_vocab
         COMMAND test_checkpoint_vocab ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/checkpoint/micro.ckpt.h5)
set_tests_properties(test_checkpoint_vocab PROPERTIES ENVIRONMENT "${MICL_TEST_ENV}")
