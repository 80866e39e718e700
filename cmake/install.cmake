# Installation and export: another CMake project finds ivftrain with find_package(ivftrain) and
# links ivftrain::ivftrain (and ivftrain::mpi when MPI was found), either from an install
# (`cmake --install BUILD --prefix PREFIX`) or from this build tree (ivftrain_DIR=BUILD).
# tests/consumer is such a project; scripts/test.sh builds it against an install.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(IVFTRAIN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ivftrain)

# ivftrain_warnings appears in the static library's link interface (as $<LINK_ONLY:...>, so its
# warning flags never reach a consumer); it is exported only so that the name resolves.
set_target_properties(ivftrain PROPERTIES EXPORT_NAME ivftrain)
install(TARGETS ivftrain ivftrain_warnings EXPORT ivftrainTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ivftrain
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(EXPORT ivftrainTargets NAMESPACE ivftrain:: DESTINATION ${IVFTRAIN_CMAKE_DIR})
export(EXPORT ivftrainTargets NAMESPACE ivftrain::
       FILE ${PROJECT_BINARY_DIR}/ivftrainTargets.cmake)

if(TARGET ivftrain_mpi)
  set_target_properties(ivftrain_mpi PROPERTIES EXPORT_NAME mpi)
  install(TARGETS ivftrain_mpi EXPORT ivftrainMpiTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT ivftrainMpiTargets NAMESPACE ivftrain:: DESTINATION ${IVFTRAIN_CMAKE_DIR})
  export(EXPORT ivftrainMpiTargets NAMESPACE ivftrain::
         FILE ${PROJECT_BINARY_DIR}/ivftrainMpiTargets.cmake)
else()
  # A build tree reconfigured without MPI must not keep offering the old export.
  file(REMOVE ${PROJECT_BINARY_DIR}/ivftrainMpiTargets.cmake)
endif()

install(TARGETS ivftrain_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/ivftrainConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ivftrainConfig.cmake INSTALL_DESTINATION ${IVFTRAIN_CMAKE_DIR})
# 0.x: a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ivftrainConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ivftrainConfig.cmake
              ${PROJECT_BINARY_DIR}/ivftrainConfigVersion.cmake
        DESTINATION ${IVFTRAIN_CMAKE_DIR})
