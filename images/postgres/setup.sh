#!/bin/sh
# Runs inside the image's rootfs (chroot) after the packages are installed.
set -eu
# Debian's install made a cluster of its own; ours is made by the entrypoint in PGDATA.
pg_dropcluster 15 main
# The data directory a new named volume copies (owner and mode included), and the
# socket directory, both the postgres user's.
mkdir -p /var/lib/postgresql/data /var/run/postgresql
chown postgres:postgres /var/lib/postgresql/data /var/run/postgresql
chmod 0700 /var/lib/postgresql/data
chmod 2775 /var/run/postgresql
mkdir -p /docker-entrypoint-initdb.d
# JIT compilation is off (see the entrypoint): without it LLVM and its solver library,
# about 130 MB, serve nothing. Locale sources only matter to locale-gen; clusters use
# C.UTF-8, which is built into libc.
rm -rf /usr/lib/postgresql/15/lib/llvmjit* /usr/lib/postgresql/15/lib/bitcode \
    /usr/lib/x86_64-linux-gnu/libLLVM-*.so* /usr/lib/x86_64-linux-gnu/libz3.so* \
    /usr/share/i18n/locales
