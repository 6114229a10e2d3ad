#!/bin/sh
# deploy/compose-check/walkthrough.sh PORT - runs README.md's walk-through, as
# printed there (the first ```sh block under "## A walk-through"), against the
# gateway on 127.0.0.1:PORT and checks every answer it prints. Needs a fresh
# database (the walk-through signs up ada@example.com and expects id 1).
set -eu
. "$(dirname "$0")/lib.sh"

port=$1
out="$CC_CACHE/walkthrough.out"
script="$CC_CACHE/walkthrough.sh"

awk '/^## A walk-through/ { section = 1 }
	section && /^```sh$/ { inblock = 1; next }
	inblock && /^```$/ { exit }
	inblock { print }' "$CC_ROOT/README.md" > "$script"
grep -q 'http://127.0.0.1:3000/api/v1' "$script" || cc_fail "walk-through: no sh block with B=http://127.0.0.1:3000/api/v1 in README.md"
sed -i "s|http://127.0.0.1:3000|http://127.0.0.1:$port|" "$script"
sh "$script" > "$out" 2>&1 || cc_fail "walk-through: exited $? (output: $out)"

n=0
# expect LINE WHAT PATTERN...: line LINE of the output contains every PATTERN.
expect() {
	_line=$1 _what=$2
	shift 2
	_text=$(sed -n "${_line}p" "$out")
	for _p in "$@"; do
		case "$_text" in
		*"$_p"*) ;;
		*) cc_fail "walk-through $_what: expected $_p in output line $_line: $_text" ;;
		esac
	done
	n=$((n + 1))
}

expect 1 "1 (sign up)" '{"success":true,"data":{"id":1,"email":"ada@example.com","name":"Ada","role":"user"' \
	'"isActive":true' '"isVerified":false' '"version":1' '"meta":{"timestamp":"' '"requestId":"req_'
expect 2 "2 (users/me)" '{"success":true,"data":{"id":1,"email":"ada@example.com","name":"Ada"'
expect 3 "3 (comment)" '{"success":true,"data":{' '"body":"Nice"' '"author":{"id":1,"name":"Ada"}'
expect 4 "4 (list)" '{"success":true,"data":[{"id":1,"title":"Hello"' '"author":{"id":1,"name":"Ada"}' \
	'"commentCount":1' '"pagination":{"page":1,"limit":10,"total":1,"totalPages":1,"hasNext":false,"hasPrev":false}'
expect 5 "5 (422)" '{"success":false,"error":{"code":"VALIDATION_ERROR","message":"Invalid input data"' \
	'{"field":"email","message":"Invalid email format"}' \
	'{"field":"password","message":"Password must be at least 8 characters"}' \
	'{"field":"name","message":"Name is required"}'
expect 6 "6 (429 after 5 failed logins)" '401 401 401 401 401 429'
rest=$(sed -n '7,$p' "$out" | tr -d '\r')
for p in 'HTTP/1.1 429 Too Many Requests' 'RateLimit-Policy: 5;w=900' 'RateLimit-Limit: 5' \
	'RateLimit-Remaining: 0' 'RateLimit-Reset: ' 'Retry-After: ' '"code":"RATE_LIMIT_EXCEEDED"'; do
	case "$rest" in
	*"$p"*) n=$((n + 1)) ;;
	*) cc_fail "walk-through 6 (429 headers): expected $p in: $rest" ;;
	esac
done
cc_log "walk-through: README's commands ran, $n answers as documented"
