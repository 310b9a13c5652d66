# The build tree's layout, shared by the main build and tests/gpu: plugins live in
# <libdir>/covergen/plugins beside libcovergen_core, both in the build tree and after
# install, so the CLI (and the plugin registry) finds them with no environment.
include_guard(GLOBAL)
include(GNUInstallDirs)
set(COVERGEN_PLUGIN_SUBDIR "covergen/plugins")
set(COVERGEN_PLUGIN_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/${COVERGEN_PLUGIN_SUBDIR}")
set(CMAKE_LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/lib")
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/bin")
set(COVERGEN_PLUGIN_OUTPUT_DIR "${CMAKE_BINARY_DIR}/lib/${COVERGEN_PLUGIN_SUBDIR}")
file(MAKE_DIRECTORY "${COVERGEN_PLUGIN_OUTPUT_DIR}")
