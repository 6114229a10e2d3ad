#!/bin/sh
# `make run SEED=1`: demo data through the REST API, so every role can be
# tried at once. Idempotent: an account that exists already is left alone
# (and so are its posts).
#
#   sh deploy/local/seed.sh http://127.0.0.1:3000/api/v1
#
#   admin@example.com      admin-password       admin (bootstrapped by run.sh: ADMIN_EMAIL)
#   moderator@example.com  moderator-password   moderator
#   user@example.com       user-password        user
set -eu
api=$1

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# post <path> <json> [token] -> prints "<status> <body>"
post() {
	if [ -n "${3:-}" ]; then
		code=$(curl -s -o "$tmp" -w '%{http_code}' -X POST "$api$1" \
			-H 'Content-Type: application/json' -H "Authorization: Bearer $3" -d "$2")
	else
		code=$(curl -s -o "$tmp" -w '%{http_code}' -X POST "$api$1" \
			-H 'Content-Type: application/json' -d "$2")
	fi
	printf '%s %s\n' "$code" "$(cat "$tmp")"
}

# The value of a top-level "key":"string" in a JSON text.
field() {
	printf '%s' "$2" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"
}

login() {
	out=$(post /auth/login "{\"email\":\"$1\",\"password\":\"$2\"}")
	case "$out" in
	"200 "*) field accessToken "$out" ;;
	*) echo "seed: cannot log in as $1: $out" >&2; exit 1 ;;
	esac
}

# create_account <email> <password> <name> <role> <admin token>: 0 when new
create_account() {
	out=$(post /users "{\"email\":\"$1\",\"password\":\"$2\",\"name\":\"$3\",\"role\":\"$4\"}" "$5")
	case "$out" in
	"201 "*) echo "seed: created $4 $1"; return 0 ;;
	"409 "*) echo "seed: $1 exists, left as it is"; return 1 ;;
	*) echo "seed: cannot create $1: $out" >&2; exit 1 ;;
	esac
}

# add_post <token> <title> <body> <status>
add_post() {
	out=$(post /posts "{\"title\":\"$2\",\"body\":\"$3\",\"status\":\"$4\"}" "$1")
	case "$out" in
	"201 "*) ;;
	*) echo "seed: cannot create post \"$2\": $out" >&2; exit 1 ;;
	esac
}

admin=$(login admin@example.com admin-password)
if create_account moderator@example.com moderator-password "Mo Moderator" moderator "$admin"; then
	mod=$(login moderator@example.com moderator-password)
	add_post "$mod" "House rules" "Be kind. Stay on topic. Moderators may remove comments." published
fi
if create_account user@example.com user-password "Uma User" user "$admin"; then
	user=$(login user@example.com user-password)
	add_post "$user" "Hello, Agent OS" "My first post on this backend." published
	add_post "$user" "Notes on rate limits" "Fixed windows, shared through Redis." published
	add_post "$user" "Unfinished thoughts" "Only I (and moderators) can see this draft." draft
fi
cat <<MSG
seed: demo accounts (password after the slash):
  admin@example.com / admin-password          admin
  moderator@example.com / moderator-password  moderator
  user@example.com / user-password            user
MSG
