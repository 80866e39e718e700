#include "signals.h"

#include <semaphore.h>

#include <csignal>
#include <thread>

#include "util/files.h"

namespace ivftrain::cli {
namespace {

sem_t g_signalled;
volatile std::sig_atomic_t g_signal = 0;

// Async-signal-safe: records the signal and wakes the cleanup thread. Any thread may run it
// (some libraries start threads before main, so the signals cannot be blocked in all of them).
void on_signal(int sig) {
  if (g_signal == 0) g_signal = sig;
  sem_post(&g_signalled);
}

}  // namespace

void remove_staging_on_signals() {
  if (sem_init(&g_signalled, 0, 0) != 0) return;
  std::thread([] {
    while (sem_wait(&g_signalled) != 0) {
    }
    const int sig = g_signal;
    // Ordinary code, not a handler: it may take locks and list directories.
    remove_own_staging();
    // Ends the process by the signal itself (default action), so that its parent sees it.
    std::signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
    raise(sig);
  }).detach();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;  // the interrupted system calls go on; the cleanup thread ends us
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace ivftrain::cli
