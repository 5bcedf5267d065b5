# relay_test_code(TARGET [MAIN source...]): how the project's test programs are compiled.
#
# The code under test (the services' and shared libraries) keeps the build type's flags; the test
# programs themselves are compiled for build time, not speed: -O1 with line tables only (-g1: a
# failure's or a sanitizer's stack trace still names file and line), and with the headers every
# test includes precompiled once per target. This halves the test builds of scripts/test.sh, which
# builds the whole tree three times on two cores.
#
# MAIN names the sources that define doctest's entry point (DOCTEST_CONFIG_IMPLEMENT...): that
# macro must come before doctest.h, so they skip the precompiled header.
function(relay_test_code target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "MAIN")
  target_compile_options(${target} PRIVATE "$<$<NOT:$<CONFIG:Debug>>:-O1;-g1>")
  target_precompile_headers(${target} PRIVATE
    <doctest/doctest.h>
    <nlohmann/json.hpp>
    <httplib.h>
    <chrono>
    <map>
    <optional>
    <string>
    <thread>
    <vector>)
  if(arg_MAIN)
    set_source_files_properties(${arg_MAIN} TARGET_DIRECTORY ${target}
                                PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
  endif()
endfunction()
