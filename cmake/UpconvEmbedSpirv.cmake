# cmake -DSPV=<file.spv> -DOUT=<file.inc> -P UpconvEmbedSpirv.cmake
# Writes the SPIR-V module as a comma-separated list of uint32_t literals (SPIR-V words are
# little-endian in the file as glslang writes them on every host we build on).
file(READ ${SPV} hex HEX)
string(LENGTH "${hex}" len)
math(EXPR rem "${len} % 8")
if(len EQUAL 0 OR NOT rem EQUAL 0)
  message(FATAL_ERROR "${SPV}: not a whole number of 32-bit words (${len} hex digits)")
endif()
# "aabbccdd" (bytes in file order) -> 0xddccbbaa
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u,"  words "${hex}")
# 8 words per line keeps the generated file readable and the compiler happy.
string(REGEX REPLACE "((0x[0-9a-f]+u,){8})" "\\1\n" words "${words}")
file(WRITE ${OUT} "${words}\n")
