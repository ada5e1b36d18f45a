# Cross toolchain: AArch64 Linux (glibc) with Debian's cross compiler
# (gcc-aarch64-linux-gnu), tests run under qemu-user. Use as
#
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#   cmake --build build/aarch64 -j2 && ctest --test-dir build/aarch64
#
# ctest runs every test binary through CMAKE_CROSSCOMPILING_EMULATOR:
# qemu-aarch64 with the cross sysroot as its prefix for the dynamic loader
# and libraries. Override with -DYC_AARCH64_SYSROOT=..., -DYC_AARCH64_PREFIX=
# (e.g. aarch64-none-linux-gnu-) or -DCMAKE_CROSSCOMPILING_EMULATOR=....
# `make test-aarch64` installs the tools when they are missing.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(YC_AARCH64_PREFIX "aarch64-linux-gnu-" CACHE STRING "Prefix of the cross tools")
set(YC_AARCH64_SYSROOT "/usr/aarch64-linux-gnu" CACHE PATH
    "Target root: headers, libraries and the dynamic loader")

set(CMAKE_C_COMPILER ${YC_AARCH64_PREFIX}gcc)
set(CMAKE_ASM_COMPILER ${YC_AARCH64_PREFIX}gcc)
set(CMAKE_CXX_COMPILER ${YC_AARCH64_PREFIX}g++)

# Libraries and headers from the target root only; programs from the host.
set(CMAKE_FIND_ROOT_PATH ${YC_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

if(NOT CMAKE_CROSSCOMPILING_EMULATOR)
  find_program(YC_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
  if(YC_QEMU_AARCH64)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${YC_QEMU_AARCH64} -L ${YC_AARCH64_SYSROOT})
  endif()
endif()
