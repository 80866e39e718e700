// Helpers shared by the libFuzzer targets: a per-process scratch directory for the file-based
// readers (they are mmap-based, so every input must become a file), and readers that pull every
// row of a file or dataset through the library while keeping memory bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "io/vector_file.h"
#include "ivftrain/dataset.h"

namespace ivftrain::fuzz {

// A directory private to this process, removed at exit, created on first use: under
// $IVFTRAIN_FUZZ_SCRATCH when set, else /dev/shm when present (inputs never touch a disk).
const std::string& scratch_dir();

// Writes `size` bytes to scratch_dir()/name (replacing it) and returns the path. Aborts on a
// write failure: that is the harness failing, not the code under test.
std::string write_scratch_file(const std::string& name, const uint8_t* data, size_t size);

// Reads every row of `file` with read_range (in bounded chunks) and some with read_rows, and
// checks the invariants every reader promises (traps on a violation). At most `max_elements`
// floats are read in all, so a header declaring a huge (sparse) array stays cheap.
void read_all_rows(const VectorFile& file, int64_t max_elements);

// The same over every fragment of a dataset, through Dataset::read_range / read_rows.
void read_all_rows(const Dataset& dataset, int64_t max_elements);

// Aborts with `what` on stderr: an invariant of the library does not hold.
[[noreturn]] void invariant_failed(const char* what);

}  // namespace ivftrain::fuzz
