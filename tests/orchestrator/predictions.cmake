# predictions.cmake - the predictions reader (orchestrator/predictions_file.c): what it accepts.
# Its refusals are the hostile corpus (hostile_pred_*, tests/hostile/hostile.cmake) and
# export_predictions_roundtrip; its fuzz target is tests/fuzz/fuzz_predictions.c.
micl_unit_test(test_predictions_file test_predictions_file.c)
