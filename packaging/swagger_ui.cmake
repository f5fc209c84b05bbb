# Swagger UI's two static files for `GET /docs`, from the npm package
# swagger-ui-dist (not committed): fetched once per build directory with
# `npm pack` into build/swagger-ui/, next to the binary, where deployd looks
# for them (and the .deb installs them to /usr/share/deployd/swagger-ui).
# Without npm or the registry the build goes on and /docs answers 404.
set(DEPLOYD_SWAGGER_UI_VERSION 5.36.0)
set(swagger_dir ${PROJECT_BINARY_DIR}/swagger-ui)
if(NOT EXISTS ${swagger_dir}/${DEPLOYD_SWAGGER_UI_VERSION})
  find_program(NPM npm)
  set(fetch_dir ${PROJECT_BINARY_DIR}/swagger-ui-fetch)
  file(REMOVE_RECURSE ${fetch_dir})
  file(MAKE_DIRECTORY ${fetch_dir})
  set(status 1)
  if(NPM)
    execute_process(
      COMMAND ${NPM} pack swagger-ui-dist@${DEPLOYD_SWAGGER_UI_VERSION}
      WORKING_DIRECTORY ${fetch_dir}
      RESULT_VARIABLE status OUTPUT_QUIET ERROR_QUIET TIMEOUT 120)
  endif()
  set(tarball ${fetch_dir}/swagger-ui-dist-${DEPLOYD_SWAGGER_UI_VERSION}.tgz)
  if(status EQUAL 0 AND EXISTS ${tarball})
    file(ARCHIVE_EXTRACT INPUT ${tarball} DESTINATION ${fetch_dir}
      PATTERNS package/swagger-ui-bundle.js package/swagger-ui.css
               package/LICENSE)
    file(REMOVE_RECURSE ${swagger_dir})
    file(MAKE_DIRECTORY ${swagger_dir})
    file(COPY ${fetch_dir}/package/swagger-ui-bundle.js
              ${fetch_dir}/package/swagger-ui.css
              ${fetch_dir}/package/LICENSE
         DESTINATION ${swagger_dir})
    file(TOUCH ${swagger_dir}/${DEPLOYD_SWAGGER_UI_VERSION})
  else()
    message(WARNING "npm pack swagger-ui-dist@${DEPLOYD_SWAGGER_UI_VERSION} "
                    "failed: /docs will answer 404")
  endif()
  file(REMOVE_RECURSE ${fetch_dir})
endif()
if(EXISTS ${swagger_dir}/swagger-ui-bundle.js)
  install(FILES ${swagger_dir}/swagger-ui-bundle.js ${swagger_dir}/swagger-ui.css
                ${swagger_dir}/LICENSE
          DESTINATION ${CMAKE_INSTALL_DATADIR}/deployd/swagger-ui)
endif()
