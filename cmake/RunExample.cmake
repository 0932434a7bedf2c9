# CTest script: runs an example with arguments and checks its exit status and
# output. Inputs (-D): EXE, ARGS (a ;-list, may be empty), EXPECT_RC,
# EXPECT_RE (a regular expression the standard output must match).
execute_process(COMMAND ${EXE} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err TIMEOUT 60)
if(NOT rc STREQUAL EXPECT_RC)
  message(FATAL_ERROR "${EXE} ${ARGS}: exit ${rc}, expected ${EXPECT_RC}\n${out}\n${err}")
endif()
if(NOT out MATCHES "${EXPECT_RE}")
  message(FATAL_ERROR "${EXE} ${ARGS}: output does not match '${EXPECT_RE}':\n${out}\n${err}")
endif()
message("${out}")
