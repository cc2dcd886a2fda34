#!/bin/sh
# Runs inside the image's rootfs (chroot) after the packages are installed.
set -eu
# The official image's interpreter paths, so Dockerfiles written for it work unchanged.
ln -sf /usr/bin/python3 /usr/local/bin/python3
ln -sf /usr/bin/python3 /usr/local/bin/python
