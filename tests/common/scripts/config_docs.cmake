# config_docs.cmake - requires the config reference that config_check generates from the schema
# to equal docs/CONFIG.md byte for byte, and the example at its end to load (tests/common/config.cmake).
#   cmake -DCHECK=path/to/config_check -DDOCS=docs/CONFIG.md -DOUT=generated.md -P config_docs.cmake
execute_process(COMMAND ${CHECK} --docs OUTPUT_FILE ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "config_check --docs failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${DOCS} ${OUT} RESULT_VARIABLE diff)
if(NOT diff EQUAL 0)
  message(FATAL_ERROR "${DOCS} is out of date; regenerate it with: config_check --docs > ${DOCS}")
endif()
# The example at the end of the reference must itself be a valid config.
file(READ ${DOCS} docs)
if(NOT docs MATCHES "## Example\n\n```\n(.*)```")
  message(FATAL_ERROR "${DOCS} has no example block")
endif()
file(WRITE ${OUT}.example.cfg "${CMAKE_MATCH_1}")
execute_process(COMMAND ${CHECK} ${OUT}.example.cfg RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the example in ${DOCS} does not load: ${err}")
endif()
