# covergen_add_plugin(<name> SOURCES <src>... [LIBS <lib>...] [OUTPUT_DIR <dir>] [NO_INSTALL])
#
# Builds libcovergen_<name>.so, a runtime plugin for CoverGen: a MODULE library with
# hidden visibility that exports only the covergen_* entry points (version script),
# links with --no-undefined so an unresolved symbol fails at link time rather than
# at load, and finds libcovergen_core through its RPATH once installed.
include_guard(GLOBAL)
set(_COVERGEN_PLUGIN_MAP "${CMAKE_CURRENT_LIST_DIR}/plugin.map")

function(covergen_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIR;INSTALL_DIR" "SOURCES;LIBS" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "covergen_add_plugin(${name}): no SOURCES given")
  endif()
  set(target covergen_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE covergen::core torch ${ARG_LIBS})
  if(NOT ARG_OUTPUT_DIR)
    if(DEFINED COVERGEN_PLUGIN_OUTPUT_DIR)
      set(ARG_OUTPUT_DIR "${COVERGEN_PLUGIN_OUTPUT_DIR}")
    else()
      set(ARG_OUTPUT_DIR "${CMAKE_BINARY_DIR}/plugins")
    endif()
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME ${target}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIR}"
    INSTALL_RPATH "$ORIGIN/../..")
  target_link_options(${target} PRIVATE "LINKER:--no-undefined"
    "LINKER:--version-script=${_COVERGEN_PLUGIN_MAP}")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${_COVERGEN_PLUGIN_MAP}")
  if(NOT ARG_NO_INSTALL)
    if(NOT ARG_INSTALL_DIR)
      if(DEFINED COVERGEN_PLUGIN_INSTALL_DIR)
        set(ARG_INSTALL_DIR "${COVERGEN_PLUGIN_INSTALL_DIR}")
      else()
        set(ARG_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/covergen/plugins")
      endif()
    endif()
    install(TARGETS ${target} LIBRARY DESTINATION "${ARG_INSTALL_DIR}")
  endif()
endfunction()
