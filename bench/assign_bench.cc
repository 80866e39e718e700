// The assignment step of k-means (kmeans_assign: blocked SGEMM with a fused argmin) against a
// bare cblas_sgemm of the same shape, (n x d) . (d x k), which is the bulk of its work. The
// FLOPS counter is 2 n k d per call for both, so the two rates compare directly: the assignment
// cannot beat the GEMM it is built on, and the gap is the cost of the norms, the argmin and the
// blocking.
//
//   build/release/bench/assign_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <omp.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "ivftrain/kmeans.h"
#include "ivftrain/simd.h"

namespace {

std::vector<float> random_matrix(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal;
  std::vector<float> m(static_cast<size_t>(rows * cols));
  for (auto& v : m) v = normal(gen);
  return m;
}

void set_flops(benchmark::State& state, int64_t n, int64_t d, int64_t k) {
  state.counters["FLOPS"] = benchmark::Counter(
      2.0 * static_cast<double>(n) * static_cast<double>(k) * static_cast<double>(d),
      benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::OneK::kIs1000);
}

// Args: n, d, k, threads (0: all cores).
void BM_KMeansAssign(benchmark::State& state) {
  const int64_t n = state.range(0), d = state.range(1), k = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  const auto x = random_matrix(n, d, 1);
  const auto c = random_matrix(k, d, 2);
  std::vector<int32_t> labels(static_cast<size_t>(n));
  std::vector<float> distances(static_cast<size_t>(n));
  for (auto _ : state) {
    ivftrain::kmeans_assign(n, d, x.data(), k, c.data(), ivftrain::Metric::kL2, labels.data(),
                            distances.data(), threads);
    benchmark::DoNotOptimize(labels.data());
  }
  set_flops(state, n, d, k);
}

// The same product as one GEMM, with OpenBLAS's own threading (n x k output held in full).
void BM_Sgemm(benchmark::State& state) {
  const int64_t n = state.range(0), d = state.range(1), k = state.range(2);
  const int threads = state.range(3) > 0 ? static_cast<int>(state.range(3)) : omp_get_max_threads();
  const auto x = random_matrix(n, d, 1);
  const auto c = random_matrix(k, d, 2);
  std::vector<float> out(static_cast<size_t>(n * k));
  // kmeans_assign runs OpenBLAS single-threaded only during its own calls; set the count here.
  openblas_set_num_threads(threads);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(k),
                static_cast<int>(d), 1.0f, x.data(), static_cast<int>(d), c.data(),
                static_cast<int>(d), 0.0f, out.data(), static_cast<int>(k));
    benchmark::DoNotOptimize(out.data());
  }
  set_flops(state, n, d, k);
}

// Shapes of bench/compare.py's workloads 1 and 2 (a slice of their rows) and a PQ sub-space.
void shapes(benchmark::internal::Benchmark* b) {
  for (int threads : {1, 0}) {
    b->Args({65536, 128, 1024, threads});
    b->Args({16384, 768, 1024, threads});
    b->Args({65536, 8, 256, threads});
  }
  b->ArgNames({"n", "d", "k", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_KMeansAssign)->Apply(shapes);
BENCHMARK(BM_Sgemm)->Apply(shapes);

}  // namespace

// Google Benchmark's main, with the SIMD level of IVFTRAIN_SIMD (as the CLI) in the context.
int main(int argc, char** argv) {
  if (const ivftrain::Status s = ivftrain::set_simd_target_from_env(); !s.ok()) {
    std::fprintf(stderr, "assign_bench: %s\n", s.message().c_str());
    return 2;
  }
  benchmark::AddCustomContext("ivftrain_simd", ivftrain::simd_target());
  benchmark::AddCustomContext("openblas_core", ivftrain::blas_core());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
