#!/bin/bash
# Build one base image's root filesystem from the shared minbase rootfs and a recipe
# folder (images/<name>/), and leave it as OUT_DIR/rootfs.tar for a `FROM scratch` build.
#
# Usage: build-rootfs.sh BASE_TAR RECIPE_DIR OUT_DIR
# Environment (from the recipe, passed by the base_images role):
#   PACKAGES  Debian packages to install (--no-install-recommends)
#   CLOSURE   when set, the image keeps only these packages and what they depend on
#             (their files as dpkg lists them) instead of the whole minbase system
#   EXCLUDE   packages left out of that closure although something depends on them
#             (debconf and perl only matter to the package manager, which is not kept)
#
# The recipe folder may hold `rootfs/` (copied over the result) and `setup.sh` (run
# inside the result with chroot, after the copy).
set -euo pipefail

base_tar=$1
recipe=$2
out=$3
: "${PACKAGES:?PACKAGES must list the packages to install}"
CLOSURE=${CLOSURE:-}
EXCLUDE=${EXCLUDE:-}

mkdir -p "$out"
work=$(mktemp -d "$out/work.XXXXXX")
full=$work/full
mounted=""
cleanup() {
    for m in $mounted; do umount -l "$m" || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# Run a command inside a rootfs with a clean environment.
in_chroot() {
    local dir=$1
    shift
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 chroot "$dir" "$@"
}
in_root() { in_chroot "$full" "$@"; }

mkdir -p "$full"
tar -C "$full" -xpf "$base_tar"
cp /etc/resolv.conf "$full/etc/resolv.conf"
# Maintainer scripts must not start services in a build (PostgreSQL would try to).
printf '#!/bin/sh\nexit 101\n' >"$full/usr/sbin/policy-rc.d"
chmod 0755 "$full/usr/sbin/policy-rc.d"
mount -t proc proc "$full/proc" && mounted="$full/proc"

# shellcheck disable=SC2086 # PACKAGES is a word list on purpose
in_root apt-get -q update
# shellcheck disable=SC2086
in_root apt-get -q install -y --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $PACKAGES
in_root apt-get clean
rm -f "$full/usr/sbin/policy-rc.d"

# Every installed package that PACKAGES need at run time, following Depends and
# Pre-Depends (the first installed alternative of each), skipping EXCLUDE.
closure() {
    local -A seen=()
    local queue=("$@") pkg dep alt
    for pkg in $EXCLUDE; do seen[$pkg]=skip; done
    while ((${#queue[@]})); do
        pkg=${queue[0]}
        queue=("${queue[@]:1}")
        [[ -n ${seen[$pkg]:-} ]] && continue
        seen[$pkg]=keep
        echo "$pkg"
        while IFS= read -r dep; do
            for alt in ${dep//|/ }; do
                alt=${alt%%:*}
                if in_root dpkg-query -W -f='${Status}' "$alt" 2>/dev/null | grep -q 'ok installed'; then
                    queue+=("$alt")
                    break
                fi
                # A virtual package: take the installed package that provides it.
                alt=$(in_root dpkg-query -W -f='${Package} ${Provides}\n' |
                    awk -v v="$alt" '{for (i = 2; i <= NF; i++) { gsub(/[,(].*/, "", $i); if ($i == v) { print $1; exit } } }')
                if [[ -n $alt ]]; then queue+=("$alt"); break; fi
            done
        done < <(in_root dpkg-query -W -f='${Pre-Depends}, ${Depends}' "$pkg" |
            sed -e 's/([^)]*)//g' -e 's/ //g' | tr ',' '\n' | grep -v '^$' || true)
    done
}

if [[ -n $CLOSURE ]]; then
    root=$work/slim
    mkdir -p "$root"
    # The merged-/usr links first, so files dpkg lists under /bin or /lib land in /usr.
    for link in bin sbin lib lib32 lib64 libx32; do
        if [[ -L $full/$link ]]; then
            cp -a "$full/$link" "$root/$link"
            mkdir -p "$root/$(readlink "$full/$link")"
        fi
    done
    # shellcheck disable=SC2086
    closure $CLOSURE >"$work/packages"
    echo "closure: $(tr '\n' ' ' <"$work/packages")"
    xargs -a "$work/packages" chroot "$full" dpkg-query -L | grep -v '^package diverts' |
        sed 's|^/||' | grep -v '^$' | sort -u >"$work/files"
    # What maintainer scripts generated rather than dpkg shipped: accounts, the CA
    # bundle, the dynamic linker's cache, and the system's empty directories.
    for extra in etc/passwd etc/group etc/shadow etc/gshadow etc/ssl/certs \
        etc/ld.so.conf etc/ld.so.conf.d etc/nsswitch.conf etc/os-release etc/localtime etc/timezone \
        tmp var/tmp root home run proc sys dev etc/alternatives \
        usr/local usr/local/bin usr/local/sbin usr/local/lib usr/local/share; do
        [[ -e $full/$extra || -L $full/$extra ]] && echo "$extra"
    done >>"$work/files"
    tar -C "$full" --no-recursion -cf - -T "$work/files" | tar -C "$root" --keep-directory-symlink -xpf -
    # The directories of etc/ssl/certs and etc/alternatives hold links, so copy them whole.
    for dir in etc/ssl/certs etc/alternatives etc/ld.so.conf.d; do
        [[ -d $full/$dir ]] && cp -a "$full/$dir/." "$root/$dir/"
    done
    # No coreutils or shell in the closure: busybox stands in for them (a shell for
    # Dockerfile RUN lines and health checks, wget, ls, ...) at a couple of MB.
    if [[ -x $root/usr/bin/busybox ]]; then
        for applet in $(chroot "$root" /usr/bin/busybox --list); do
            [[ -e $root/usr/bin/$applet || -e $root/usr/sbin/$applet ]] ||
                ln -s busybox "$root/usr/bin/$applet"
        done
    fi
else
    root=$full
    umount -l "$full/proc" && mounted=""
fi

if [[ -d $recipe/rootfs ]]; then
    cp -a --no-preserve=ownership "$recipe/rootfs/." "$root/"
fi
if [[ -f $recipe/setup.sh ]]; then
    cp "$recipe/setup.sh" "$root/tmp/setup.sh"
    in_chroot "$root" /bin/sh /tmp/setup.sh
    rm -f "$root/tmp/setup.sh"
fi

# Trim what no container reads: documentation, manuals, translations, package indexes
# and caches, logs, the build host's resolver settings.
rm -rf "$root"/usr/share/{doc,man,info,lintian,linda,locale,bug,groff}/* \
    "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/var/lib/dpkg/*-old "$root"/tmp/* "$root"/var/tmp/*
find "$root/var/log" -type f -delete 2>/dev/null || true
: >"$root/etc/resolv.conf"
chmod 1777 "$root/tmp"
[[ -d $root/var/tmp ]] && chmod 1777 "$root/var/tmp"
ldconfig -r "$root"

tar -C "$root" --numeric-owner -cf "$out/rootfs.tar.part" .
mv "$out/rootfs.tar.part" "$out/rootfs.tar"
du -sh "$root" | awk '{print "rootfs size: " $1}'
