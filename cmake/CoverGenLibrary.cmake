# covergen_add_library(<name> SOURCES <src>... [PUBLIC <lib>...] [PRIVATE <lib>...])
#
# One CoverGen library, libs/<name>: the shared library covergen_<name> (alias and
# export name covergen::<name>, versioned with the project), its public headers in
# libs/<name>/include (installed, *.hpp), installed into the CoverGenTargets export.
# Anything else a library needs (SYSTEM includes, compile options, optional sources)
# follows the call as ordinary target_* commands on covergen_<name>.
include_guard(GLOBAL)

function(covergen_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "covergen_add_library(${name}): no SOURCES given")
  endif()
  set(target covergen_${name})
  add_library(${target} SHARED ${ARG_SOURCES})
  add_library(covergen::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name}
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC} PRIVATE ${ARG_PRIVATE})
  install(TARGETS ${target} EXPORT CoverGenTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
endfunction()
