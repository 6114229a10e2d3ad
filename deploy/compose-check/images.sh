#!/bin/sh
# deploy/compose-check/images.sh - what each application image contains.
#
# For users, posts, auth and gateway: the image's user is 10001:10001 and a
# container of it runs as uid 10001; no build tool or -dev package is
# installed; every shared library of its binaries resolves (ldd). Prints
# every image's size (README.md "Beyond one machine" lists them).
set -eu
. "$(dirname "$0")/lib.sh"

for name in users posts auth gateway; do
	image="${CC_PROJECT}_${name}"
	user=$(podman image inspect --format '{{.Config.User}}' "$image")
	[ "$user" = "10001:10001" ] || cc_fail "image $name: USER is '$user', not 10001:10001"
	# One container per image: uid, packages, unresolved libraries.
	report=$(podman run --rm --no-healthcheck --entrypoint /bin/sh "$image" -c '
		echo "uid=$(id -u) gid=$(id -g)"
		dpkg-query -W -f "pkg \${Package}\n"
		for b in /usr/local/bin/*; do ldd "$b" | sed "s|^|ldd $b |"; done')
	case "$report" in
	"uid=10001 gid=10001"*) ;;
	*) cc_fail "image $name: runs as $(echo "$report" | head -1)" ;;
	esac
	build=$(echo "$report" | grep -E '^pkg (.*-dev|gcc|gcc-[0-9]+|g\+\+|g\+\+-[0-9]+|cpp|cpp-[0-9]+|make|binutils|binutils-.*|pkg-config|pkgconf|protobuf-c-compiler|build-essential|libc6-dev|curl|wget)$' || true)
	[ -z "$build" ] || cc_fail "image $name: build-time packages installed: $(echo "$build" | tr '\n' ' ')"
	missing=$(echo "$report" | grep '^ldd .*not found' || true)
	[ -z "$missing" ] || cc_fail "image $name: unresolved libraries: $missing"
	bins=$(echo "$report" | sed -n 's|^ldd /usr/local/bin/\([^ ]*\) .*|\1|p' | sort -u | tr '\n' ' ')
	size=$(podman image inspect --format '{{.Size}}' "$image")
	cc_log "image $name: uid 10001, $(echo "$report" | grep -c '^pkg ') packages, none for building; ${bins}link; $((size / 1000000)) MB"
done
size=$(podman image inspect --format '{{.Size}}' docker.io/library/debian:bookworm-slim)
cc_log "image debian:bookworm-slim (base, from debootstrap): $((size / 1000000)) MB"
