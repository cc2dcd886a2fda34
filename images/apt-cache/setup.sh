#!/bin/sh
# Runs inside the rootfs (chroot): the folders apt-cacher-ng writes belong to its account,
# and no init script is left to start a second copy.
set -eu
install -d -o apt-cacher-ng -g apt-cacher-ng /var/cache/apt-cacher-ng /var/log/apt-cacher-ng
chmod 0644 /etc/apt-cacher-ng/zz_labdock.conf
