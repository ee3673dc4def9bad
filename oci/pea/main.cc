// pea: peapod's runc-compatible OCI runtime command.
#include <string>
#include <vector>

#include "oci/pea/pea.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return peapod::pea::Main(args);
}
