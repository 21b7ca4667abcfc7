# Fails unless the first ```cpp block of README.md is exactly examples/readme_example.cpp, so
# the README's example is the code that the readme_example test compiles and runs.
# Usage: cmake -DREADME=... -DEXAMPLE=... -P readme_example_check.cmake
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)
string(FIND "${readme}" "```cpp\n" start)
if(start EQUAL -1)
  message(FATAL_ERROR "README.md has no ```cpp block")
endif()
math(EXPR start "${start} + 7")
string(SUBSTRING "${readme}" ${start} -1 rest)
string(FIND "${rest}" "```" end)
string(SUBSTRING "${rest}" 0 ${end} block)
if(NOT block STREQUAL example)
  message(FATAL_ERROR "README.md's ```cpp block differs from ${EXAMPLE}; keep them identical")
endif()
