#include "mpi/comm.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

namespace ivftrain {
namespace {

// Messages larger than this are sent in pieces (MPI counts are int).
constexpr size_t kChunkBytes = size_t{1} << 30;

}  // namespace

void wait_gently(MPI_Request& request) {
  using Clock = std::chrono::steady_clock;
  // A collective progresses only inside MPI calls, one exchange between ranks per test: once
  // every rank has arrived it needs tests in quick succession, and a fixed 2 ms sleep between
  // them cost each Lloyd iteration tens of milliseconds with 2 ranks. So the first 200 us test
  // continuously (yielding the core to any other runnable thread), then the pause between tests
  // doubles from 20 us up to 2 ms: a rank waiting long for another (rank 0 planning, or a slower
  // shard) still leaves its core to it.
  constexpr auto kSpin = std::chrono::microseconds(200);
  constexpr auto kLongestPause = std::chrono::microseconds(2000);
  int done = 0;
  MPI_Test(&request, &done, MPI_STATUS_IGNORE);
  const auto spin_until = Clock::now() + kSpin;
  auto pause = std::chrono::microseconds(20);
  while (!done) {
    if (Clock::now() < spin_until) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, kLongestPause);
    }
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
  }
}

void bcast_string(std::string& s, int root) {
  uint64_t n = s.size();
  MPI_Bcast(&n, 1, MPI_UINT64_T, root, MPI_COMM_WORLD);
  s.resize(n);
  for (size_t at = 0; at < n; at += kChunkBytes) {
    const int count = static_cast<int>(std::min(kChunkBytes, n - at));
    MPI_Bcast(s.data() + at, count, MPI_CHAR, root, MPI_COMM_WORLD);
  }
}

void send_string(const std::string& s, int dest) {
  uint64_t n = s.size();
  MPI_Request request;
  MPI_Isend(&n, 1, MPI_UINT64_T, dest, 0, MPI_COMM_WORLD, &request);
  wait_gently(request);
  for (size_t at = 0; at < n; at += kChunkBytes) {
    const int count = static_cast<int>(std::min(kChunkBytes, n - at));
    MPI_Isend(s.data() + at, count, MPI_CHAR, dest, 1, MPI_COMM_WORLD, &request);
    wait_gently(request);
  }
}

std::string recv_string(int source) {
  uint64_t n = 0;
  MPI_Recv(&n, 1, MPI_UINT64_T, source, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  std::string s(n, '\0');
  for (size_t at = 0; at < n; at += kChunkBytes) {
    const int count = static_cast<int>(std::min(kChunkBytes, n - at));
    MPI_Recv(s.data() + at, count, MPI_CHAR, source, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
  return s;
}

Status agree(const Status& mine, int rank, int size) {
  int failed = mine.ok() ? 0 : 1, any = 0;
  MPI_Request request;
  MPI_Iallreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &request);
  wait_gently(request);
  if (!any) return Status::OK();
  int first = mine.ok() ? size : rank, lowest = size;
  MPI_Allreduce(&first, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  std::string message = mine.ok() ? std::string() : mine.message();
  int code = static_cast<int>(mine.code());
  MPI_Bcast(&code, 1, MPI_INT, lowest, MPI_COMM_WORLD);
  bcast_string(message, lowest);
  const std::string text = size > 1 ? fmt::format("rank {}: {}", lowest, message) : message;
  const auto agreed = static_cast<Status::Code>(code);
  return Status::FromCode(agreed == Status::Code::kOk ? Status::Code::kFailedPrecondition : agreed,
                          text);
}

std::string sendrecv_string(const std::string& out, int dest, int source) {
  uint64_t n_out = out.size(), n_in = 0;
  MPI_Request sent, received;
  MPI_Irecv(&n_in, 1, MPI_UINT64_T, source, 2, MPI_COMM_WORLD, &received);
  MPI_Isend(&n_out, 1, MPI_UINT64_T, dest, 2, MPI_COMM_WORLD, &sent);
  wait_gently(received);
  wait_gently(sent);
  std::string in(n_in, '\0');
  for (size_t at = 0; at < std::max(n_in, n_out); at += kChunkBytes) {
    // Both directions of a piece are posted before either is waited for.
    const bool get = at < n_in, put = at < n_out;
    if (get) {
      MPI_Irecv(in.data() + at, static_cast<int>(std::min(kChunkBytes, n_in - at)), MPI_CHAR,
                source, 3, MPI_COMM_WORLD, &received);
    }
    if (put) {
      MPI_Isend(out.data() + at, static_cast<int>(std::min(kChunkBytes, n_out - at)), MPI_CHAR,
                dest, 3, MPI_COMM_WORLD, &sent);
    }
    if (get) wait_gently(received);
    if (put) wait_gently(sent);
  }
  return in;
}

}  // namespace ivftrain
