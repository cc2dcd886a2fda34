#!/bin/sh
# Runs inside the image's rootfs (chroot) after the package closure is copied in.
set -eu
# The names the official image answers to: `registry` on PATH, `wget` in /usr/local/bin.
ln -sf docker-registry /usr/bin/registry
ln -sf /usr/bin/busybox /usr/local/bin/wget
# The account the registry runs as (fixed ids: deployments may need to grant it read
# access to mounted keys), owning the data directory a new volume copies.
echo 'registry:x:10002:10002:registry:/var/lib/registry:/usr/sbin/nologin' >>/etc/passwd
echo 'registry:x:10002:' >>/etc/group
mkdir -p /var/lib/registry
chown 10002:10002 /var/lib/registry
chmod 0750 /var/lib/registry
