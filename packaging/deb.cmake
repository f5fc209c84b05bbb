# `cpack -G DEB` in the build directory builds deployd_<version>_<arch>.deb:
# the binary, config/service.ini as /etc/deployd/deployd.ini (a conffile),
# the systemd unit running as the deployd user with StateDirectory=deployd,
# the usage text (`deployd help`) as its documentation and a man page
# (help2man). Library
# dependencies come from dpkg-shlibdeps. Included by the top CMakeLists.txt.
include(GNUInstallDirs)

# The usage text, written by the built binary after every link.
add_custom_command(TARGET deployd POST_BUILD
  COMMAND sh -c "\"$<TARGET_FILE:deployd>\" help > \"${PROJECT_BINARY_DIR}/usage.txt\""
  VERBATIM)

# The man page, by help2man from `deployd --help` and `--version` plus
# packaging/deployd.h2m (description, files, environment), gzipped as Debian
# ships man pages.
find_program(HELP2MAN help2man REQUIRED)
add_custom_command(TARGET deployd POST_BUILD
  COMMAND sh -c "\"${HELP2MAN}\" --no-info --section=1 --name='Prefect 3 API server on an event log' --include='${PROJECT_SOURCE_DIR}/packaging/deployd.h2m' \"$<TARGET_FILE:deployd>\" | gzip -9n > \"${PROJECT_BINARY_DIR}/deployd.1.gz\""
  VERBATIM)
install(FILES ${PROJECT_BINARY_DIR}/deployd.1.gz
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

include(${PROJECT_SOURCE_DIR}/packaging/swagger_ui.cmake)
install(TARGETS deployd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/config/service.ini
  DESTINATION /etc/deployd RENAME deployd.ini)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/deployd.service
  DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_BINARY_DIR}/usage.txt ${PROJECT_SOURCE_DIR}/README.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME deployd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "deployd maintainers <maintainers@users.noreply.r-seed-519c79f7.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "Event-sourced server compatible with the Prefect 3 API")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/conffiles
  ${PROJECT_SOURCE_DIR}/packaging/postinst
  ${PROJECT_SOURCE_DIR}/packaging/prerm
  ${PROJECT_SOURCE_DIR}/packaging/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
