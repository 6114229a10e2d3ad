#!/bin/sh
# deploy/compose-check/base-image.sh - a Debian bookworm base image without a
# registry: `debootstrap --variant=minbase bookworm`, trimmed the way the
# official debian:bookworm-slim is (no documentation, manuals or locales;
# apt cleans its downloads; the same three suites), imported into podman as
# docker.io/library/debian:bookworm-slim and :bookworm, which is what
# deploy/Dockerfile and the stand-ins start FROM.
#
# The root file system is kept as $CC_CACHE/bookworm-minbase.tar: later runs
# only import it again if the image store lost it. Delete the file for a
# fresh bootstrap (e.g. to pick up new Debian point releases).
set -eu
. "$(dirname "$0")/lib.sh"

TAR="$CC_CACHE/bookworm-minbase.tar"
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if podman image exists docker.io/library/debian:bookworm-slim; then
	cc_log "base image: debian:bookworm-slim is in the cache"
	exit 0
fi

if [ ! -s "$TAR" ]; then
	cc_log "base image: debootstrap --variant=minbase bookworm (about a minute)"
	dir="$CC_CACHE/rootfs.tmp"
	rm -rf "$dir"
	nice -n 10 debootstrap --variant=minbase bookworm "$dir" "$MIRROR" \
		> "$CC_CACHE/debootstrap.log" 2>&1 ||
		{ tail -20 "$CC_CACHE/debootstrap.log" >&2; cc_fail "debootstrap (log: $CC_CACHE/debootstrap.log)"; }
	# As the official slim image: dpkg leaves documentation out from now on,
	# and what debootstrap installed goes too.
	cat > "$dir/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
	find "$dir/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
	rm -rf "$dir/usr/share/groff" "$dir/usr/share/info" "$dir/usr/share/man"/* \
		"$dir/usr/share/lintian" "$dir/usr/share/linda"
	find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
	cat > "$dir/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
	echo 'Acquire::Languages "none";' > "$dir/etc/apt/apt.conf.d/docker-no-languages"
	echo 'APT::AutoRemove::SuggestsImportant "false";' > "$dir/etc/apt/apt.conf.d/docker-autoremove-suggests"
	rm -f "$dir/etc/apt/sources.list"
	cat > "$dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	rm -rf "$dir/var/cache/apt/archives"/*.deb "$dir/var/lib/apt/lists"/* "$dir/var/log"/*.log \
		"$dir/var/cache/debconf"/*-old "$dir/debootstrap"
	tar -C "$dir" --numeric-owner -cf "$TAR.tmp" .
	mv "$TAR.tmp" "$TAR"
	rm -rf "$dir"
fi

cc_log "base image: importing $TAR"
id=$(podman import --change 'CMD ["bash"]' "$TAR" docker.io/library/debian:bookworm-slim)
podman tag "$id" docker.io/library/debian:bookworm
