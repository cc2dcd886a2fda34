#!/bin/sh
# Runs inside the image's rootfs (chroot) after the packages are installed.
set -eu
# Logs to the container's output instead of files nobody reads.
ln -sfT /dev/stderr /var/log/apache2/error.log
ln -sfT /dev/stdout /var/log/apache2/access.log
ln -sfT /dev/stdout /var/log/apache2/other_vhosts_access.log
# mod_php needs the prefork MPM (Debian's install script switches to it; make sure).
a2dismod -q mpm_event >/dev/null 2>&1 || true
a2enmod -q mpm_prefork php8.2 >/dev/null
# A server name silences Apache's start-up warning about guessing one.
echo 'ServerName localhost' >/etc/apache2/conf-available/servername.conf
a2enconf -q servername >/dev/null
# An empty docroot like the official image's, owned by the workers' user.
rm -rf /var/www/html
mkdir -p /var/www/html
chown www-data:www-data /var/www/html
