# Helpers shared by every component's CMakeLists.txt.

if(NOT VIC_FUZZ)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()

# vic_unit_test(<target> <sources...> LIBS <libs...>): a gtest binary labelled "unit".
function(vic_unit_test target)
  if(NOT VIC_UNIT_TESTS OR VIC_FUZZ)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  add_executable(${target} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${target} PRIVATE ${ARG_LIBS} GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST PROPERTIES LABELS unit)
endfunction()

# vic_script_test(<name> <label> <command...>): a test implemented as a script.
function(vic_script_test name label)
  add_test(NAME ${name} COMMAND ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS "${label}")
endfunction()

# vic_integration_test(<target> <sources...> LIBS <libs...>): a gtest binary labelled
# "integration" (real libvirtd + QEMU), built in the main tree only.
function(vic_integration_test target)
  if(VIC_UNIT_ONLY OR VIC_FUZZ)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  add_executable(${target} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${target} PRIVATE ${ARG_LIBS} GTest::gmock GTest::gtest_main)
  add_test(NAME integration.${target} COMMAND ${target})
  set_tests_properties(integration.${target} PROPERTIES LABELS integration TIMEOUT 600)
endfunction()

# vic_split_debug(<target>): the program is stripped right after it is linked and its debug
# info kept beside it in <program>.debug, which gdb finds through the .gnu_debuglink section.
# For what vic-machine copies into every VCH (vic-endpoint: 7 MB instead of 170 MB).
function(vic_split_debug target)
  if(VIC_SANITIZE OR VIC_FUZZ)
    return()
  endif()
  find_program(VIC_OBJCOPY objcopy REQUIRED)
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${VIC_OBJCOPY} --only-keep-debug $<TARGET_FILE:${target}> $<TARGET_FILE:${target}>.debug
    COMMAND ${VIC_OBJCOPY} --strip-debug --add-gnu-debuglink=$<TARGET_FILE:${target}>.debug $<TARGET_FILE:${target}>
    VERBATIM)
endfunction()
