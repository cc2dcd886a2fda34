#!/bin/sh
# Runs inside the image's rootfs (chroot) after the package closure is copied in.
set -eu
# Where the official image keeps its interpreter: Dockerfiles and shebangs use both.
ln -sf /usr/bin/python3 /usr/local/bin/python3
ln -sf /usr/bin/python3 /usr/local/bin/python
# Byte-compile the standard library now: app containers run as a non-root user that
# cannot write __pycache__ there, so without this every start would compile it again.
python3 -m compileall -q /usr/lib/python3.11 >/dev/null
