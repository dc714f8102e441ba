# task_scene.cmake - scene and operator task families (data/task_scene.c), the scene renderer
# and the vocabulary's task-word section.
micl_unit_test(test_task_scene test_task_scene.c)
