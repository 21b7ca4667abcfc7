# Installs the built upconv into a scratch prefix, then configures, builds and runs a separate
# project (consumer/) that finds it with find_package(upconv). Run by ctest (test
# install_and_find_package) with -DBUILD_DIR, -DWORK_DIR, -DGENERATOR and -DCONSUMER_FLAGS.
set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}")
  endif()
  message(STATUS "${out}")
endfunction()
step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(header upconv/upconv.hpp upconv/upconv.h upconv/plan.hpp)
  if(NOT EXISTS ${prefix}/include/${header})
    message(FATAL_ERROR "not installed: include/${header}")
  endif()
endforeach()
step(${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR}/consumer -B ${WORK_DIR}/build -G ${GENERATOR}
     -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
     "-DCMAKE_CXX_FLAGS=${CONSUMER_FLAGS}" "-DCMAKE_C_FLAGS=${CONSUMER_FLAGS}"
     "-DCMAKE_EXE_LINKER_FLAGS=${CONSUMER_FLAGS}")
step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
step(${WORK_DIR}/build/consumer)
step(${WORK_DIR}/build/consumer_c)
# pkg-config (--define-prefix: the package was installed under a prefix other than the configured one).
find_program(PKG_CONFIG pkg-config)
if(PKG_CONFIG)
  set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
  execute_process(COMMAND ${PKG_CONFIG} --define-prefix --cflags --libs upconv OUTPUT_VARIABLE flags
                  RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config upconv failed (${rc})")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  separate_arguments(extra UNIX_COMMAND "${CONSUMER_FLAGS}")
  step(cc ${extra} ${CMAKE_CURRENT_LIST_DIR}/consumer/consumer.c -o ${WORK_DIR}/consumer_pc ${flags})
  step(${WORK_DIR}/consumer_pc)
else()
  message(STATUS "pkg-config not installed: its check is skipped")
endif()
message(STATUS "install_and_find_package: ok")
