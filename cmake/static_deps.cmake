# How the programs link their dependencies. Each kpthin_dep_* target stands for one dependency;
# every target in the tree links those instead of the packages' own targets.
#
# With KPTHIN_STATIC_DEPS (the default) a kpthin process maps no C++ shared library: spdlog and
# fmt are compiled in header-only (Debian ships no static archives of them), as is toml++ (only
# the fuzz targets' reference reader uses it), libsodium comes from Debian's static archive and
# libstdc++ / libgcc are linked statically. Start-up then skips the dynamic loader's symbol
# lookups for thousands of C++ relocations, which were three quarters of a short `kpthin keypair`
# process (issue 13); only libc stays shared (linked --as-needed, so libm, which nothing uses, is
# not mapped: 300 KB of resident pages and one more library for the loader). Sanitizer and fuzz
# builds keep the shared libraries: the sanitizer runtimes must own operator new and the like.
option(KPTHIN_STATIC_DEPS "Link spdlog, fmt, toml++, libsodium and libstdc++ into the programs" ON)
if(KPTHIN_SANITIZE OR KPTHIN_FUZZ)
  set(KPTHIN_STATIC_DEPS OFF)
endif()

add_library(kpthin_dep_spdlog INTERFACE)
add_library(kpthin_dep_toml INTERFACE)
add_library(kpthin_dep_sodium INTERFACE)

if(KPTHIN_STATIC_DEPS)
  find_library(KPTHIN_SODIUM_ARCHIVE NAMES libsodium.a REQUIRED)
  # One spdlog registry per program: every translation unit uses spdlog the same (header-only) way.
  target_compile_definitions(kpthin_dep_spdlog INTERFACE SPDLOG_FMT_EXTERNAL FMT_HEADER_ONLY=1)
  target_link_libraries(kpthin_dep_spdlog INTERFACE Threads::Threads)
  target_compile_definitions(kpthin_dep_toml INTERFACE TOML_HEADER_ONLY=1)
  target_link_libraries(kpthin_dep_sodium INTERFACE ${KPTHIN_SODIUM_ARCHIVE} Threads::Threads)
  add_link_options($<$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>:-static-libstdc++> $<$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>:-static-libgcc>
                   $<$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>:-Wl,--as-needed>)
  # The ~6000 relative relocations of a position-independent kpthin (vtables, the static
  # libstdc++'s tables) as a compact bitmap: the loader applies them in ~35k fewer instructions
  # of a keypair process's ~0.95M (DT_RELR; binutils 2.38, glibc 2.36). The check links a
  # program, so a toolchain without DT_RELR support leaves the flag out.
  include(CheckLinkerFlag)
  check_linker_flag(CXX "-Wl,-z,pack-relative-relocs" KPTHIN_LINKER_PACKS_RELATIVE_RELOCS)
  if(KPTHIN_LINKER_PACKS_RELATIVE_RELOCS)
    add_link_options($<$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>:-Wl,-z,pack-relative-relocs>)
  endif()
else()
  target_link_libraries(kpthin_dep_spdlog INTERFACE spdlog::spdlog)
  target_link_libraries(kpthin_dep_toml INTERFACE tomlplusplus::tomlplusplus)
  target_link_libraries(kpthin_dep_sodium INTERFACE PkgConfig::SODIUM)
endif()
