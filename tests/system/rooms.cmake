# rooms.cmake - the build enforces DESIGN.md's rooms: an include of a room that a room may not
# know fails to compile, and an include through "../" fails to configure (rooms_test.sh).
add_test(NAME rooms_forbidden_includes
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/rooms_test.sh ${CMAKE_C_COMPILER}
                 ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/rooms_test)
set_tests_properties(rooms_forbidden_includes PROPERTIES TIMEOUT 300)
