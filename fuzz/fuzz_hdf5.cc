// The HDF5 reader. libhdf5 (1.10.8 in Debian 12) itself crashes on many malformed files (out-of-
// bounds reads in its metadata parsers, known upstream), so feeding it raw mutated bytes finds
// libhdf5's bugs, not ours, and makes every run fail within seconds. By default this target is
// therefore structure-aware: the input describes a file (dataspace kind, rank and dimensions,
// element type, layout, filters, fill value, which object is called "train", the spec opened)
// that libhdf5 writes, and ivftrain's reader then opens and reads. That fuzzes what ivftrain
// decides (rank, type class, sizes, sparse huge arrays, missing or non-dataset objects, links)
// over files libhdf5 can parse.
//
// With IVFTRAIN_FUZZ_HDF5_RAW=1 in the environment the input is instead the raw file (seeds in
// tests/corpus/*/hdf5_raw): use it to look at libhdf5's own robustness, not in CI.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "io/hdf5_util.h"
#include "io/vector_file.h"

namespace {

using ivftrain::H5Handle;
using ivftrain::Hdf5Lock;

constexpr int64_t kMaxElements = int64_t{1} << 16;

// Consumes the input a byte at a time; zeros once it runs out.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  uint8_t byte() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  // A dimension: usually small, sometimes a large power of two (sparse arrays).
  hsize_t dim() {
    const uint8_t b = byte();
    return (b & 0x80) ? hsize_t{1} << (b & 0x3f) : hsize_t{b & 0x7fu};
  }
  const uint8_t* rest() const { return p_; }
  size_t rest_size() const { return n_; }

 private:
  const uint8_t* p_;
  size_t n_;
};

// The element type of the dataset; the caller closes it.
hid_t make_type(uint8_t choice) {
  switch (choice % 13) {
    case 0: return H5Tcopy(H5T_IEEE_F32LE);
    case 1: return H5Tcopy(H5T_IEEE_F64LE);
    case 2: return H5Tcopy(H5T_IEEE_F32BE);
    case 3: return H5Tcopy(H5T_STD_I8LE);
    case 4: return H5Tcopy(H5T_STD_U8LE);
    case 5: return H5Tcopy(H5T_STD_I16BE);
    case 6: return H5Tcopy(H5T_STD_U32LE);
    case 7: return H5Tcopy(H5T_STD_I64LE);
    case 8: return H5Tcopy(H5T_STD_U64LE);
    case 9: {
      const hid_t s = H5Tcopy(H5T_C_S1);
      H5Tset_size(s, 4);
      return s;
    }
    case 10: {
      const hid_t c = H5Tcreate(H5T_COMPOUND, 8);
      H5Tinsert(c, "a", 0, H5T_IEEE_F32LE);
      H5Tinsert(c, "b", 4, H5T_IEEE_F32LE);
      return c;
    }
    case 11: {
      const hid_t e = H5Tenum_create(H5T_NATIVE_INT);
      int v = 0;
      H5Tenum_insert(e, "zero", &v);
      v = 1;
      H5Tenum_insert(e, "one", &v);
      return e;
    }
    default: return H5Tcopy(H5T_NATIVE_B8);  // a bitfield
  }
}

// Writes the file the input describes; returns the spec to open ("" when libhdf5 refused the
// description, which is not interesting).
std::string write_described_file(Input& in, const std::string& path,
                                 std::vector<hsize_t>* dims_out) {
  Hdf5Lock lock;
  H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) ivftrain::fuzz::invariant_failed("cannot create the HDF5 scratch file");

  // Dataspace: scalar, null, or simple of rank 1..3 (rank 2 twice as likely).
  const uint8_t space_kind = in.byte() % 6;
  std::vector<hsize_t> dims;
  H5Handle space;
  if (space_kind == 0) {
    space = H5Handle(H5Screate(H5S_SCALAR), H5Sclose);
  } else if (space_kind == 5) {
    space = H5Handle(H5Screate(H5S_NULL), H5Sclose);
  } else {
    const int rank = space_kind == 4 ? 2 : space_kind;
    for (int i = 0; i < rank; ++i) dims.push_back(in.dim());
    std::vector<hsize_t> max(dims.size(), H5S_UNLIMITED);
    space = H5Handle(H5Screate_simple(rank, dims.data(), max.data()), H5Sclose);
  }
  if (!space.valid()) return "";
  H5Handle type(make_type(in.byte()), H5Tclose);

  // Layout: contiguous, chunked, chunked + deflate, compact; optionally a NaN fill value.
  const uint8_t layout = in.byte();
  H5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (!dims.empty() && (layout % 4 == 1 || layout % 4 == 2)) {
    std::vector<hsize_t> chunk;
    for (const hsize_t d : dims) chunk.push_back(std::clamp<hsize_t>(d, 1, 1 + layout / 16 % 4));
    H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
    if (layout % 4 == 2) H5Pset_deflate(dcpl.get(), 1);
  } else if (layout % 4 == 3) {
    H5Pset_layout(dcpl.get(), H5D_COMPACT);
  }
  if ((layout & 0x40) && H5Tget_class(type.get()) == H5T_FLOAT && H5Tget_size(type.get()) == 4) {
    const float nan = __builtin_nanf("");
    H5Pset_fill_value(dcpl.get(), H5T_NATIVE_FLOAT, &nan);
  }

  // Which object is called what, and the spec ivftrain opens.
  const uint8_t naming = in.byte() % 7;
  const char* name = naming == 1 ? "other" : naming == 2 ? "g/train" : "train";
  const std::string spec = naming == 2   ? path + ":g/train"
                           : naming == 5 ? path + ":/train"
                           : naming == 6 ? path + ":train/x"
                                         : path;
  H5Handle links(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(links.get(), 1);
  if (naming == 3) {  // "train" is a group
    H5Handle g(H5Gcreate2(file.get(), "train", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    return spec;
  }
  if (naming == 4) {  // "train" is a dangling soft link
    H5Lcreate_soft("/nowhere", file.get(), "train", H5P_DEFAULT, H5P_DEFAULT);
    return spec;
  }
  H5Handle set(
      H5Dcreate2(file.get(), name, type.get(), space.get(), links.get(), dcpl.get(), H5P_DEFAULT),
      H5Dclose);
  if (!set.valid()) return spec;  // e.g. compact storage too large: the file has no dataset
  // Data from the rest of the input (cycled) when the array is small; large ones stay sparse.
  hsize_t elements = space_kind == 5 ? 0 : 1;
  for (const hsize_t d : dims)
    elements = d && elements > UINT64_MAX / d ? UINT64_MAX : elements * d;
  const size_t bytes = static_cast<size_t>(elements) * H5Tget_size(type.get());
  if ((layout & 0x80) && elements > 0 && elements <= 4096 && in.rest_size() > 0 &&
      H5Tget_class(type.get()) != H5T_STRING) {
    std::vector<uint8_t> buf(bytes);
    for (size_t i = 0; i < bytes; ++i) buf[i] = in.rest()[i % in.rest_size()];
    H5Dwrite(set.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
  }
  *dims_out = dims;
  return spec;
}

void fuzz_raw(const uint8_t* data, size_t size) {
  const std::string path = ivftrain::fuzz::write_scratch_file("input.hdf5", data, size);
  {
    auto file = ivftrain::open_vector_file(path, "train");
    if (file.ok()) ivftrain::fuzz::read_all_rows(**file, kMaxElements);
  }
  ::unlink(path.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool raw = std::getenv("IVFTRAIN_FUZZ_HDF5_RAW") != nullptr;
  if (raw) {
    fuzz_raw(data, size);
    return 0;
  }
  Input in(data, size);
  const std::string path = ivftrain::fuzz::scratch_dir() + "/input.hdf5";
  std::vector<hsize_t> dims;
  const std::string spec = write_described_file(in, path, &dims);
  if (!spec.empty()) {
    auto file = ivftrain::open_vector_file(spec, "train");
    if (file.ok()) {
      const ivftrain::VectorFile& f = **file;
      // Accepted: a 2-D dataset, read as it was written.
      if (dims.size() != 2 || f.num_rows() != static_cast<int64_t>(dims[0]) ||
          f.dim() != static_cast<int64_t>(dims[1])) {
        ivftrain::fuzz::invariant_failed("an HDF5 file was opened with the wrong shape");
      }
      ivftrain::fuzz::read_all_rows(f, kMaxElements);
    } else if (file.status().message().find(path) == std::string::npos) {
      ivftrain::fuzz::invariant_failed("an HDF5 error does not name the file");
    }
  }
  ::unlink(path.c_str());
  return 0;
}
