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
