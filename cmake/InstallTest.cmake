# CTest script: installs the built tree into a fresh prefix, then builds and
# runs a program against it twice, once through pkg-config and once through
# find_package. Inputs (-D): BUILD_DIR, WORK_DIR, SOURCE_DIR, C_COMPILER,
# LIBDIR, SANITIZE (may be empty), PKG_CONFIG (may be empty).
cmake_minimum_required(VERSION 3.16)

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${ARGN}\n${out}\n${err}")
  endif()
  set(run_out "${out}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
set(libdir ${prefix}/${LIBDIR})
set(san_flags "")
if(SANITIZE)
  set(san_flags -fsanitize=${SANITIZE})
endif()

# pkg-config: the installed .pc must point into this prefix, not the
# configure-time one.
if(NOT PKG_CONFIG)
  message("skipped the pkg-config half: pkg-config is not installed (tools/deps.sh test installs it)")
else()
  set(ENV{PKG_CONFIG_PATH} ${libdir}/pkgconfig)
  set(ENV{PKG_CONFIG_LIBDIR} ${libdir}/pkgconfig) # nothing from the system's dirs
  run("pkg-config" ${PKG_CONFIG} --cflags --libs asupersync)
  string(STRIP "${run_out}" flags)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run("pkg-config prefix" ${PKG_CONFIG} --variable=prefix asupersync)
  string(STRIP "${run_out}" pc_prefix)
  get_filename_component(pc_prefix "${pc_prefix}" REALPATH)
  get_filename_component(real_prefix ${prefix} REALPATH)
  if(NOT pc_prefix STREQUAL real_prefix)
    message(FATAL_ERROR "the installed .pc names the prefix ${pc_prefix}, not ${real_prefix}")
  endif()
  run("compile via pkg-config" ${C_COMPILER} ${san_flags} -o ${WORK_DIR}/use_pc
      ${SOURCE_DIR}/cmake/install_use.c ${flags} -lpthread)
  set(ENV{LD_LIBRARY_PATH} ${libdir})
  run("program built via pkg-config" ${WORK_DIR}/use_pc)
  if(NOT run_out MATCHES "asupersync from the installed prefix: ok")
    message(FATAL_ERROR "unexpected output: ${run_out}")
  endif()
  message("pkg-config: ${flags}")
endif()

# find_package: a small CMake project against the same prefix.
file(WRITE ${WORK_DIR}/app/CMakeLists.txt "cmake_minimum_required(VERSION 3.16)
project(use_installed C)
find_package(asupersync 0.1 REQUIRED)
add_executable(use_cmake ${SOURCE_DIR}/cmake/install_use.c)
target_link_libraries(use_cmake PRIVATE asupersync::asupersync_static)
")
string(REPLACE ";" " " san_str "${san_flags}")
run("configure via find_package" ${CMAKE_COMMAND} -S ${WORK_DIR}/app -B ${WORK_DIR}/app/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${C_COMPILER}
    "-DCMAKE_C_FLAGS=${san_str}" "-DCMAKE_EXE_LINKER_FLAGS=${san_str}")
run("build via find_package" ${CMAKE_COMMAND} --build ${WORK_DIR}/app/build)
run("program built via find_package" ${WORK_DIR}/app/build/use_cmake)
if(NOT run_out MATCHES "asupersync from the installed prefix: ok")
  message(FATAL_ERROR "unexpected output: ${run_out}")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
message("installed package works through pkg-config and find_package")
