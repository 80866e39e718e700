# Cross-compiles ivftrain for 64-bit Arm Linux with Debian's cross toolchain
# (g++-aarch64-linux-gnu) and the :arm64 -dev packages installed beside the amd64 ones (multiarch:
# headers under /usr/include/aarch64-linux-gnu, libraries under /usr/lib/aarch64-linux-gnu).
# scripts/cross-aarch64.sh installs them and uses this file:
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake
# Test binaries run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR), so ctest and
# gtest_discover_tests work in the cross build tree.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(IVFTRAIN_AARCH64_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${IVFTRAIN_AARCH64_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${IVFTRAIN_AARCH64_TRIPLE}-g++)
# Debian multiarch: no sysroot. The cross gcc already searches /usr/lib/aarch64-linux-gnu; this
# makes CMake's find_* look under lib/aarch64-linux-gnu and include/aarch64-linux-gnu, and never
# under the host's x86_64-linux-gnu directories.
set(CMAKE_LIBRARY_ARCHITECTURE ${IVFTRAIN_AARCH64_TRIPLE})
# pkg-config (libxxhash) must read the arm64 .pc files, not the host's.
set(ENV{PKG_CONFIG_LIBDIR}
    /usr/lib/${IVFTRAIN_AARCH64_TRIPLE}/pkgconfig:/usr/share/pkgconfig)

# -march=native describes the build machine, not the target.
set(IVFTRAIN_NATIVE OFF CACHE BOOL "Compile for the host CPU (-march=native)")

# The loader and libc must come from the same glibc: -L takes the loader from the cross
# toolchain's directory, and LD_LIBRARY_PATH its libc, libstdc++ and libgomp too. Without it, the
# loader would find the libc of libc6:arm64 (a newer Debian revision) through the host's
# ld.so.cache, and the tests hang at start-up.
find_program(IVFTRAIN_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(IVFTRAIN_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${IVFTRAIN_QEMU_AARCH64} -L /usr/${IVFTRAIN_AARCH64_TRIPLE}
      -E LD_LIBRARY_PATH=/usr/${IVFTRAIN_AARCH64_TRIPLE}/lib)
endif()
