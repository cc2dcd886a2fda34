#!/bin/sh
# Runs inside the rootfs (chroot): every host makes its own SSH host keys at first boot
# (labhost-init), so none is baked into the image.
set -eu
rm -f /etc/ssh/ssh_host_*
# The admin account of the README's example inventory (inventory/lab.example.yml): it logs in
# with the harness's key and becomes root with sudo, without a password as Ansible's
# `become` expects there (no become password is given).
useradd --create-home --shell /bin/bash labadmin
printf 'labadmin ALL=(ALL:ALL) NOPASSWD: ALL\n' >/etc/sudoers.d/labadmin
chmod 0440 /etc/sudoers.d/labadmin
# A container has no consoles, udev or hardware clock: these units only fail or wait.
for unit in getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
    systemd-hwdb-update.service systemd-modules-load.service sys-kernel-config.mount \
    systemd-remount-fs.service systemd-timesyncd.service; do
    ln -sf /dev/null "/etc/systemd/system/$unit"
done
systemctl enable ssh.service >/dev/null 2>&1 || true
