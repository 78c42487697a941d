// openapi_gen: writes the OpenAPI document of a service from a
// FileDescriptorSet (protoc --include_imports --include_source_info
// --descriptor_set_out), at build time.
//
//   openapi_gen DESCRIPTOR_SET SERVICE OUTPUT

#include <fstream>
#include <iostream>
#include <sstream>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "server/rest/openapi/openapi.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: openapi_gen DESCRIPTOR_SET SERVICE OUTPUT\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  google::protobuf::FileDescriptorSet set;
  if (!in || !set.ParseFromString(bytes.str())) {
    std::cerr << "openapi_gen: cannot read a FileDescriptorSet from " << argv[1]
              << "\n";
    return 1;
  }
  // The set lists every file after the files it imports.
  google::protobuf::DescriptorPool pool;
  for (const google::protobuf::FileDescriptorProto& file : set.file()) {
    if (pool.BuildFile(file) == nullptr) {
      std::cerr << "openapi_gen: cannot build " << file.name() << "\n";
      return 1;
    }
  }
  const google::protobuf::ServiceDescriptor* service =
      pool.FindServiceByName(argv[2]);
  if (service == nullptr) {
    std::cerr << "openapi_gen: no service " << argv[2] << " in " << argv[1]
              << "\n";
    return 1;
  }
  auto doc = hpo::openapi::GenerateOpenApi(service);
  if (!doc.ok()) {
    std::cerr << "openapi_gen: " << doc.status() << "\n";
    return 1;
  }
  std::ofstream out(argv[3], std::ios::binary);
  out << *doc;
  return out ? 0 : 1;
}
