# Installation: the library, its public headers, the `upconv` program and a CMake package, so a
# project can use an installed upconv with
#   find_package(upconv 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE upconv::upconv)
# (or add_subdirectory(upconv) and the same upconv::upconv target). tests/install checks it.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(UPCONV_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/upconv)
install(TARGETS upconv EXPORT upconvTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/upconv DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET upconv_cli)
  install(TARGETS upconv_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(EXPORT upconvTargets NAMESPACE upconv:: DESTINATION ${UPCONV_CMAKE_DIR})

# The package needs what upconv's interface names: Threads, and the Vulkan headers where the
# Vulkan backend is built (upconv/vulkan.hpp includes <vulkan/vulkan.h>; the loader itself is
# opened at run time, never linked).
if(TARGET upconv_vulkan)
  set(UPCONV_PACKAGE_NEEDS_VULKAN_HEADERS ON)
else()
  set(UPCONV_PACKAGE_NEEDS_VULKAN_HEADERS OFF)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/upconvConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/upconvConfig.cmake INSTALL_DESTINATION ${UPCONV_CMAKE_DIR})
# 0.x: a minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/upconvConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/upconvConfig.cmake ${PROJECT_BINARY_DIR}/upconvConfigVersion.cmake
        DESTINATION ${UPCONV_CMAKE_DIR})

# pkg-config, for builds that are not CMake (make, meson). The prefix is the one configured;
# `cmake --install --prefix` elsewhere is answered by PKG_CONFIG's --define-prefix.
set(UPCONV_PC_DL "")
if(CMAKE_DL_LIBS)
  set(UPCONV_PC_DL "-l${CMAKE_DL_LIBS}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/upconv.pc.in ${PROJECT_BINARY_DIR}/upconv.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/upconv.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
