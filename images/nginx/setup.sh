#!/bin/sh
# Runs inside the image's rootfs (chroot) after the package closure is copied in.
set -eu
# `wget` for health checks, where the official alpine image has it too.
ln -sf /usr/bin/busybox /usr/local/bin/wget
# The account nginx runs as (fixed ids, like the registry's 10002 and the apps' 10001).
echo 'proxy:x:10003:10003:proxy:/nonexistent:/usr/sbin/nologin' >>/etc/passwd
echo 'proxy:x:10003:' >>/etc/group
# nginx opens its default error log before reading the configuration: let it.
mkdir -p /var/log/nginx /var/lib/nginx
chown 10003:10003 /var/log/nginx /var/lib/nginx
