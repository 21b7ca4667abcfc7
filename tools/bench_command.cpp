// `upconv bench`: placeholder until the benchmark driver lands (it replaces this file).
#include <iostream>

#include "tools/commands.hpp"

namespace upconv::cli {

int bench_command(std::span<const std::string> /*args*/) {
  std::cerr << "upconv bench: not implemented yet" << std::endl;
  return kExitUsage;
}

}  // namespace upconv::cli
