#!/bin/sh
# `make bench`: the benchmark. Starts a throwaway stack under <build>/bench
# (recreated on every run) on its own ports, seeds it, loads it and prints one
# table, then stops everything it started.
#
#   sh bench/run.sh <build dir>
#
# Scenarios, each warmed up BENCH_WARMUP_SECONDS (3) then measured
# BENCH_SECONDS (10) with wrk -t2 -c64 --latency (h2load -t2 -c64 -m10 for e):
#   ceiling  a bare libmicrohttpd server (bench-ceiling) answering a fixed JSON
#            body the size of (a)'s answer: what HTTP alone costs here
#   a        GET /api/v1/users/:id, bearer token, ids 1..10000 in turn (cached)
#   b        GET /api/v1/posts?limit=20 (published posts, authors embedded)
#   c        GET /api/v1/posts?page=500&limit=20 (a deep page: OFFSET 9980)
#   d        GET /health (every service, the database and Redis checked)
#   e        gRPC UsersService/GetUser straight to the users service (h2load)
# wrk runs with --timeout 10s (BENCH_TIMEOUT) so that slow answers stay in
# the percentiles instead of being dropped as errors. Before each run the
# harness waits until the previous one's connections are gone. Then the RSS of
# every process, the CPU each one used during each run (and what the rest of
# the machine used), and the SQL each request cost (pg_stat_statements).
# Everything goes to <build>/bench/results.md too, with the date, the commit
# and the machine, for bench/RESULTS.md; raw outputs stay in <build>/bench.
#
# BENCH_HOLD_SECONDS=N keeps the seeded stack up N seconds instead (no load).
# Ports (environment): BENCH_PG_PORT 56432, BENCH_REDIS_PORT 57379,
# BENCH_USERS_PORT 51051, BENCH_POSTS_PORT 51052, BENCH_AUTH_PORT 51053,
# BENCH_API_PORT 3100, BENCH_CEILING_PORT 3101 (none shared with `make run`
# or the tests). Exits non-zero when a scenario had a non-2xx answer, a
# socket error or a failed gRPC call, or when a process died.
# shellcheck disable=SC2034 # the <name>_pid variables are read by pid_of (eval)
set -eu

build=$1
root=$(pwd)
case "$build" in
/*) ;;
*) build=$root/$build ;;
esac
bin=$build/bin
dir=$build/bench
secs=${BENCH_SECONDS:-10}
warm=${BENCH_WARMUP_SECONDS:-3}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-64}
streams=${BENCH_H2_STREAMS:-10}
# wrk's default (2 s) would drop slow answers from the percentiles as errors.
timeout=${BENCH_TIMEOUT:-10s}
nusers=10000
nposts=50000
ncomments=50000
pg_port=${BENCH_PG_PORT:-56432}
redis_port=${BENCH_REDIS_PORT:-57379}
users_port=${BENCH_USERS_PORT:-51051}
posts_port=${BENCH_POSTS_PORT:-51052}
auth_port=${BENCH_AUTH_PORT:-51053}
api_port=${BENCH_API_PORT:-3100}
ceiling_port=${BENCH_CEILING_PORT:-3101}
admin_email=admin@bench.example
admin_password=bench-admin-password
probe_id=5000 # the user of (e), and whose answer sizes the ceiling's body
api=http://127.0.0.1:$api_port
stack="sh $root/deploy/local/stack.sh"
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
names="gateway users posts auth ceiling" # our processes, pid in <name>_pid
gateway_pid="" users_pid="" posts_pid="" auth_pid="" ceiling_pid=""
failed=0

tag=bench
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"

for tool in wrk h2load curl awk ss; do
	command -v $tool >/dev/null 2>&1 || die "$tool not found (make deps installs wrk and nghttp2-client)"
done

# ---- processes ---------------------------------------------------------------

# Every process of the PostgreSQL cluster: the postmaster and its children.
pg_pids() {
	pm=$(sed -n 1p "$dir/pg/postmaster.pid" 2>/dev/null || true)
	[ -n "$pm" ] || return 0
	echo "$pm"
	ps -o pid= --ppid "$pm" 2>/dev/null || true
}

redis_pids() {
	cat "$dir/redis/redis.pid" 2>/dev/null || true
}

# A previous run that was killed may have left its cluster running.
if [ -d "$dir" ]; then
	$stack redis-stop "$dir" 2>/dev/null || true
	$stack pg-stop "$dir" 2>/dev/null || true
	rm -rf "$dir"
fi
mkdir -p "$dir"
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting PostgreSQL :$pg_port and Redis :$redis_port in $dir"
$stack pg-init "$dir"
STACK_FAST=1 $stack pg-start "$dir" "$pg_port"
$stack redis-start "$dir" "$redis_port"

export DATABASE_URL="postgresql://app@127.0.0.1:$pg_port/app"
export REDIS_URL="redis://127.0.0.1:$redis_port"
export USERS_ADDR="127.0.0.1:$users_port"
export POSTS_ADDR="127.0.0.1:$posts_port"
export AUTH_ADDR="127.0.0.1:$auth_port"
export GRPC_HOST=127.0.0.1
export API_HOST=127.0.0.1
export LOG_LEVEL=${BENCH_LOG_LEVEL:-warn}
export LOG_FORMAT=json
export APP_ENV=development

say "starting users :$users_port, auth :$auth_port, posts :$posts_port, gateway :$api_port"
# RATE_LIMIT_ENABLED=false: no VerifyCredentials limits either (benchmarks).
GRPC_PORT=$users_port ADMIN_EMAIL=$admin_email ADMIN_PASSWORD=$admin_password \
	RATE_LIMIT_ENABLED=false "$bin/users-service" >"$dir/users.log" 2>&1 &
users_pid=$!
wait_for "users service" "$bin/grpc-health-probe" "127.0.0.1:$users_port" "" 500
GRPC_PORT=$auth_port "$bin/auth-service" >"$dir/auth.log" 2>&1 &
auth_pid=$!
wait_for "auth service" "$bin/grpc-health-probe" "127.0.0.1:$auth_port" "" 500
GRPC_PORT=$posts_port "$bin/posts-service" >"$dir/posts.log" 2>&1 &
posts_pid=$!
wait_for "posts service" "$bin/grpc-health-probe" "127.0.0.1:$posts_port" "" 500
API_PORT=$api_port RATE_LIMIT_ENABLED=false "$bin/gateway" >"$dir/gateway.log" 2>&1 &
gateway_pid=$!
wait_for "a healthy stack (GET /health 200)" curl -sf -o /dev/null "$api/health"

say "seeding $nusers users, $nposts posts, $ncomments comments"
t0=$(date +%s)
"$PG_BIN/psql" -X -q -tA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U app -d app \
	-v users=$nusers -v posts=$nposts -v comments=$ncomments -v admin_email=$admin_email \
	-f "$root/bench/seed.sql" >&2 || die "seeding failed"
say "seeded in $(($(date +%s) - t0)) s"

# ---- credentials and checks ------------------------------------------------------

login=$(curl -s -X POST "$api/api/v1/auth/login" -H 'Content-Type: application/json' \
	-d "{\"email\":\"$admin_email\",\"password\":\"$admin_password\"}")
token=$(printf '%s' "$login" | sed -n 's/.*"accessToken":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || die "cannot log in as $admin_email: $login"

# get <url> <file> [token]: the body into file, prints the status code.
get() {
	if [ -n "${3:-}" ]; then
		curl -s -o "$2" -w '%{http_code}' -H "Authorization: Bearer $3" "$1" || true
	else
		curl -s -o "$2" -w '%{http_code}' "$1" || true
	fi
}

check() {
	what=$1 code=$2 file=$3 pattern=$4
	if [ "$code" != 200 ] || ! grep -q "$pattern" "$file"; then
		die "$what: expected 200 with $pattern, got $code: $(head -c 400 "$file")"
	fi
}

for id in 1 $probe_id $nusers; do
	code=$(get "$api/api/v1/users/$id" "$dir/a.json" "$token")
	check "GET /api/v1/users/$id" "$code" "$dir/a.json" "\"id\":$id,"
done
code=$(get "$api/api/v1/users/$probe_id" "$dir/a.json" "$token")
body_bytes=$(wc -c <"$dir/a.json")
code=$(get "$api/api/v1/posts?limit=20" "$dir/b.json")
check "GET /api/v1/posts?limit=20" "$code" "$dir/b.json" '"author":{"id":[0-9]*,"name":"Bench User'
code=$(get "$api/api/v1/posts?page=500&limit=20" "$dir/c.json")
check "GET /api/v1/posts?page=500&limit=20" "$code" "$dir/c.json" '"page":500,'
check "page 500 has posts" "$code" "$dir/c.json" '"data":\[{"id"'
code=$(get "$api/health" "$dir/d.json")
check "GET /health" "$code" "$dir/d.json" '"status":"ok"'

# (e)'s request: the 5-byte gRPC prefix (uncompressed, big-endian length),
# then GetUserRequest { id = probe_id } (field 1, varint).
varint_octal() {
	v=$1 out=""
	while [ "$v" -ge 128 ]; do
		out="$out\\$(printf '%03o' $((v % 128 + 128)))"
		v=$((v / 128))
	done
	echo "$out\\$(printf '%03o' "$v")"
}
msg="\\010$(varint_octal $probe_id)"
msg_len=$(printf "$msg" | wc -c)
printf "\\000\\000\\000\\000\\$(printf '%03o' "$msg_len")$msg" >"$dir/getuser.bin"
grpc_url="http://127.0.0.1:$users_port/agentos.users.v1.UsersService/GetUser"
curl -sv --http2-prior-knowledge -X POST --data-binary @"$dir/getuser.bin" \
	-H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $token" \
	-o "$dir/e.bin" "$grpc_url" 2>"$dir/e.curl.txt" || die "gRPC GetUser: curl failed"
grep -qi '^< grpc-status: 0' "$dir/e.curl.txt" ||
	die "gRPC GetUser: no grpc-status 0 in the trailers (see $dir/e.curl.txt)"
grep -q "bench$probe_id@bench.example" "$dir/e.bin" ||
	die "gRPC GetUser: the answer is not user $probe_id"
grpc_bytes=$(wc -c <"$dir/e.bin")

"$bin/bench-ceiling" "$ceiling_port" "$body_bytes" >"$dir/ceiling.log" 2>&1 &
ceiling_pid=$!
wait_for "the ceiling" curl -sf -o /dev/null "http://127.0.0.1:$ceiling_port/"
say "checks passed; (a) answers $body_bytes bytes (the ceiling's body), GetUser $grpc_bytes bytes"

# BENCH_HOLD_SECONDS=N: keep the seeded stack up N seconds instead of measuring
# (for perf, strace or wrk by hand), then stop it.
if [ "${BENCH_HOLD_SECONDS:-0}" -gt 0 ]; then
	printf '%s\n' "$token" >"$dir/token"
	say "holding for $BENCH_HOLD_SECONDS s: $api (admin token in $dir/token);" \
		"pids: gateway $gateway_pid users $users_pid posts $posts_pid auth $auth_pid"
	sleep "$BENCH_HOLD_SECONDS"
	exit 0
fi

# ---- memory --------------------------------------------------------------------------

# The pids of one of the processes we report on (postgres: every process of
# the cluster; the others: one).
pids_of() {
	case "$1" in
	postgres) pg_pids ;;
	redis) redis_pids ;;
	*) pid_of "$1" ;;
	esac
}

# rss_kb <pids>: VmRSS and VmHWM (peak), kB, summed; then how many pids.
rss_kb() {
	rss=0 hwm=0 n=0
	for p in "$@"; do
		r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
		h=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
		[ -n "$r" ] || continue
		rss=$((rss + r)) hwm=$((hwm + ${h:-0})) n=$((n + 1))
	done
	echo "$rss $hwm $n"
}

# rss_snapshot <file>: name and RSS kB, a line each (rss-before: after
# seeding and the checks, before any load; rss-after: right after the last
# run). The report reads "settled" BENCH_SETTLE_SECONDS later, once the
# services have given freed memory back (rpc_server.c RPC_TRIM_INTERVAL_MS).
rss_snapshot() {
	for n in $cpu_names; do
		# shellcheck disable=SC2046
		set -- $(rss_kb $(pids_of $n))
		echo "$n $1"
	done >"$1"
}

# rss_row <name> <label>: RSS before the load, right after it, settled, and
# the peak (MB).
rss_row() {
	# shellcheck disable=SC2046
	set -- "$1" "$2" $(rss_kb $(pids_of "$1"))
	ids=$(pids_of "$1" | tr '\n' ' ')
	[ "$5" -gt 1 ] && ids="$5 processes (sum)"
	before=$(awk -v n="$1" '$1 == n { print $2 }' "$dir/rss-before")
	after=$(awk -v n="$1" '$1 == n { print $2 }' "$dir/rss-after")
	printf '| %s | %s | %s | %s | %s | %s |\n' "$2" "${ids% }" "$(mb "${before:-0}")" \
		"$(mb "${after:-0}")" "$(mb "$3")" "$(mb "$4")"
}

mb() {
	echo "$1" | awk '{ printf "%.1f", $1 / 1024 }'
}

# ---- CPU accounting ---------------------------------------------------------------

# CPU ticks (user + system) used so far by the processes of one name.
ticks_of() {
	t=0
	for p in $(pids_of "$1"); do
		v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		t=$((t + ${v:-0}))
	done
	echo $t
}

# Ticks of children this shell has waited for (the load generator), as
# written by `times` (see cpu_snapshot), and of the whole machine (busy =
# everything but idle and iowait).
children_ticks() {
	awk -v hz="$hz" 'NR == 2 {
		n = split($0, f, " "); s = 0
		for (i = 1; i <= n; i++) {
			split(f[i], ms, "m"); sub("s", "", ms[2]); s += ms[1] * 60 + ms[2]
		}
		printf "%d\n", s * hz + 0.5 }' "$dir/times.txt"
}

machine_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

cpu_names="gateway users posts auth postgres redis ceiling"
hz=$(getconf CLK_TCK)

# Sets snap to every name's ticks, the load generator's and the machine's.
# Must run in the main shell (not in $(...)): `times` in a subshell would
# report the subshell's children.
cpu_snapshot() {
	times >"$dir/times.txt"
	snap=""
	for n in $cpu_names; do snap="$snap $(ticks_of $n)"; done
	snap="$snap $(children_ticks) $(machine_ticks)"
}

# cpu_row <name> <before> <after>: seconds per process, load generator, others.
cpu_row() {
	echo "$2 | $3" | awk -v name="$1" -v hz="$hz" '{
		n = (NF - 1) / 2; ours = 0; row = "| " name
		for (i = 1; i <= n; i++) {
			d = $(n + 1 + i) - $i
			if (i <= n - 1) ours += d
			if (i < n) row = row sprintf(" | %.1f", d / hz)
		}
		others = ($(2 * n + 1) - $n) - ours
		if (others < 0) others = 0
		print row sprintf(" | %.1f |", others / hz)
	}' >>"$dir/cpu.rows"
}

# ---- scenarios --------------------------------------------------------------------

: >"$dir/rows"
: >"$dir/cpu.rows"
: >"$dir/sql.rows"
: >"$dir/per.rows"
: >"$dir/commands"

check_alive() {
	for n in $names; do
		alive "$(pid_of $n)" || { say "$n died (log: $dir/$n.log)"; failed=1; }
	done
	for p in $(pg_pids | head -n 1) $(redis_pids); do
		alive "$p" || { say "postgres or redis ($p) died"; failed=1; }
	done
}

# wrk's latencies are "850.00us", "1.20ms", "1.05s" or "1.00m": to ms.
# Prints: req/s p50 p99 non-2xx socket-errors requests
parse_wrk() {
	awk 'function ms(v) {
		if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
		if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
		if (v ~ /m$/) return substr(v, 1, length(v) - 1) * 60000
		if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
		return -1 }
	/^Requests\/sec:/ { rps = $2 }
	/^ +50%/ { p50 = ms($2) }
	/^ +99%/ { p99 = ms($2) }
	/Non-2xx or 3xx responses:/ { bad = $NF }
	/Socket errors:/ { gsub(",", ""); sock = $4 + $6 + $8 + $10 }
	/ requests in / { n = $1 }
	END { printf "%.0f %.2f %.2f %d %d %d\n", rps, p50, p99, bad, sock, n }' "$1"
}

# h2load prints no percentiles: they come from its per-request log (start
# us, status, duration us). A gRPC error is an HTTP 200 whose grpc-status
# trailer is not 0 and that carries no message: every OK answer is exactly
# grpc_bytes of DATA, so DATA bytes / grpc_bytes counts the OK answers, and
# every other request done (HTTP error, gRPC error, reset) is not OK.
# Prints: req/s p50 p99 not-ok errored requests
parse_h2load() {
	tab=$(printf '\t')
	sort -t "$tab" -k3,3n "$2" | awk -F "$tab" -v out="$1" -v size="$grpc_bytes" '
	{ d[NR] = $3 }
	END {
		while ((getline line < out) > 0) {
			n = split(line, f, " ")
			if (line ~ /^finished in/) rps = f[4]
			if (line ~ /^requests:/) { done = f[6]; errored = f[12] }
			if (line ~ /^traffic:/) {
				match(line, /\([0-9]+\) data/)
				data = substr(line, RSTART + 1, RLENGTH - 7)
			}
		}
		i50 = int(NR * 0.50 + 0.999999); i99 = int(NR * 0.99 + 0.999999)
		if (i50 < 1) i50 = 1
		if (i99 < 1) i99 = 1
		grpc_ok = size > 0 ? int(data / size) : 0
		bad = done - grpc_ok
		if (bad < 0) bad = 0
		printf "%.0f %.2f %.2f %d %d %d\n", rps, d[i50] / 1000, d[i99] / 1000, bad, errored, done
	}'
}

# Waits (30 s at most) until no client is connected to the gateway or the
# ceiling any more: a scenario that overloaded the gateway leaves it answering
# requests whose clients are gone, and those would count against the next
# scenario (HTTP_MAX_CONNECTIONS_PER_IP). The services' ports always have the
# other services' long-lived gRPC channels: not watched.
settle() {
	i=0
	filter="( sport = :$api_port or sport = :$ceiling_port )"
	while [ "$(ss -Htn state established state close-wait "$filter" | wc -l)" -gt 0 ]; do
		i=$((i + 1))
		[ $i -le 300 ] || { say "HTTP clients still connected after 30 s"; return 0; }
		sleep 0.1
	done
	[ $i -le 10 ] || say "waited $((i / 10)) s for the HTTP servers to be idle"
}

psql_app() {
	"$PG_BIN/psql" -X -q -tA -F '|' -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U app -d app "$@"
}

# SQL statements run during a measured run (pg_stat_statements, reset just
# before it): per request, and the three heaviest, into sql-<name>.txt.
sql_reset() {
	psql_app -c 'SELECT pg_stat_statements_reset()' >/dev/null
}

sql_row() {
	name=$1 requests=$2
	psql_app -c "SELECT calls, round(mean_exec_time::numeric, 2),
		regexp_replace(left(query, 90), '\s+', ' ', 'g') FROM pg_stat_statements
		WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 3" \
		>"$dir/sql-$name.txt"
	psql_app -c "SELECT coalesce(sum(calls), 0), coalesce(sum(total_exec_time), 0),
		coalesce(sum(total_plan_time), 0)
		FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'" |
		awk -F'|' -v name="$name" -v n="$requests" -v top="$(head -n 1 "$dir/sql-$name.txt")" '{
			if (n < 1) n = 1
			split(top, t, "|")
			what = $1 > 0 ? sprintf("%s (%s ms each)", t[3], t[2]) : "-"
			gsub(/\|/, "\\|", what)
			printf "| %s | %.2f | %.3f | %.3f | %s |\n", name, $1 / n, $2 / n, $3 / n, what
		}' >>"$dir/sql.rows"
}

# ---- per request: CPU, syscalls, context switches (perf stat) ---------------------

per_names="gateway users posts auth postgres redis"
perf_pids=""

# Starts one `perf stat` per process group for the measured run (syscalls
# entered and context switches, every thread of the group's processes).
perf_start() {
	perf_pids=""
	command -v perf >/dev/null 2>&1 || return 0
	for n in $per_names; do
		list=$(pids_of "$n" | paste -sd, -)
		[ -n "$list" ] || continue
		perf stat -x';' -e raw_syscalls:sys_enter,context-switches -p "$list" \
			-o "$dir/perf-$1-$n.txt" -- sleep "$secs" >/dev/null 2>&1 &
		perf_pids="$perf_pids $!"
	done
}

perf_wait() {
	for p in $perf_pids; do wait "$p" 2>/dev/null || true; done
}

# per_request_rows <name> <requests> <before> <after>: one row per process:
# CPU ms, syscalls and context switches per request.
per_request_rows() {
	name=$1 requests=$2
	i=0
	for n in $per_names; do
		i=$((i + 1))
		ticks=$(echo "$3 | $4" | awk -v i="$i" '{ n = (NF - 1) / 2; print $(n + 1 + i) - $i }')
		f="$dir/perf-$name-$n.txt"
		sc=$(awk -F';' '$3 ~ /raw_syscalls:sys_enter/ { print $1 }' "$f" 2>/dev/null || true)
		cs=$(awk -F';' '$3 ~ /context-switches/ { print $1 }' "$f" 2>/dev/null || true)
		echo "$name $n $requests $ticks ${sc:--} ${cs:--}" | awk -v hz="$hz" '{
			r = $3 > 0 ? $3 : 1
			sc = $5 == "-" || $5 ~ /not/ ? "-" : sprintf("%.1f", $5 / r)
			cs = $6 == "-" || $6 ~ /not/ ? "-" : sprintf("%.1f", $6 / r)
			printf "| %s | %s | %.3f | %s | %s |\n", $1, $2, 1000 * $4 / hz / r, sc, cs
		}' >>"$dir/per.rows"
	done
}

# record <name> <label> <req/s> <p50> <p99> <not-ok> <errors> <requests> <before>
record() {
	cpu_snapshot
	perf_wait
	cpu_row "$1" "$9" "$snap"
	[ "$1" = ceiling ] || per_request_rows "$1" "$8" "$9" "$snap"
	sql_row "$1" "$8"
	echo "$1|$2|$3|$4|$5|$6|$7|" >>"$dir/rows"
	[ "$6" -eq 0 ] && [ "$7" -eq 0 ] || failed=1
	check_alive
}

# run_wrk <name> <label> <url> [lua script]
run_wrk() {
	name=$1 label=$2 url=$3
	script=""
	[ $# -ge 4 ] && script="-s $4"
	# (a): the warm-up walks every id at least once, so every user is cached
	# (warm-ups are repeated until it did, 10 at most).
	min=0
	[ "$name" = a ] && min=$nusers
	done_n=0 rounds=0
	settle
	while :; do
		# shellcheck disable=SC2086
		wrk -t"$threads" -c"$conns" -d"${warm}s" --timeout "$timeout" --latency $script "$url" \
			>"$dir/wrk-$name-warmup.txt" 2>&1 ||
			die "wrk failed ($name warm-up): $(cat "$dir/wrk-$name-warmup.txt")"
		done_n=$((done_n + $(parse_wrk "$dir/wrk-$name-warmup.txt" | awk '{ print $6 }')))
		rounds=$((rounds + 1))
		[ "$done_n" -ge "$min" ] && break
		[ "$rounds" -lt 10 ] || die "$name: only $done_n requests in 10 warm-ups"
	done
	settle
	cmd="wrk -t$threads -c$conns -d${secs}s --timeout $timeout --latency${script:+ $script} $url"
	echo "- $name: \`$cmd\`" >>"$dir/commands"
	say "$name: $cmd"
	sql_reset
	cpu_snapshot
	before=$snap
	[ "$name" = ceiling ] || perf_start "$name"
	# shellcheck disable=SC2086
	wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout "$timeout" --latency $script "$url" \
		>"$dir/wrk-$name.txt" 2>&1 || die "wrk failed ($name): $(cat "$dir/wrk-$name.txt")"
	# shellcheck disable=SC2046
	record "$name" "$label" $(parse_wrk "$dir/wrk-$name.txt") "$before"
}

run_h2load() {
	name=e label='gRPC GetUser (users service, h2load)'
	set -- -c"$conns" -t"$threads" -m"$streams" -d "$dir/getuser.bin" \
		-H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $token"
	settle
	h2load "$@" -D "$warm" "$grpc_url" >"$dir/h2load-e-warmup.txt" 2>&1 ||
		die "h2load failed (warm-up): $(cat "$dir/h2load-e-warmup.txt")"
	settle
	cmd="h2load -c$conns -t$threads -m$streams -D $secs -d getuser.bin -H 'content-type: application/grpc' -H 'te: trailers' -H 'authorization: Bearer <token>' --log-file=e.log $grpc_url"
	echo "- e: \`$cmd\`" >>"$dir/commands"
	say "e: $cmd"
	sql_reset
	cpu_snapshot
	before=$snap
	perf_start "$name"
	h2load "$@" -D "$secs" --log-file="$dir/h2load-e.log" "$grpc_url" >"$dir/h2load-e.txt" 2>&1 ||
		die "h2load failed: $(cat "$dir/h2load-e.txt")"
	# shellcheck disable=SC2046
	record "$name" "$label" $(parse_h2load "$dir/h2load-e.txt" "$dir/h2load-e.log") "$before"
}

# Planning time too (off by default; the cluster is ours and thrown away).
psql_app -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' \
	-c 'ALTER SYSTEM SET pg_stat_statements.track_planning = on' -c 'SELECT pg_reload_conf()' >/dev/null
rss_snapshot "$dir/rss-before"
export BENCH_TOKEN="$token" BENCH_USERS="$nusers" BENCH_THREADS="$threads"
run_wrk ceiling "bare libmicrohttpd, $body_bytes-byte JSON" "http://127.0.0.1:$ceiling_port/"
run_wrk a 'GET /api/v1/users/:id (cached, token)' "$api/api/v1/users/1" bench/users.lua
run_wrk b 'GET /api/v1/posts?limit=20' "$api/api/v1/posts?limit=20"
run_wrk c 'GET /api/v1/posts?page=500&limit=20' "$api/api/v1/posts?page=500&limit=20"
run_wrk d 'GET /health' "$api/health"
run_h2load
rss_snapshot "$dir/rss-after"
sleep "${BENCH_SETTLE_SECONDS:-12}"

# ---- report ------------------------------------------------------------------------

report() {
	ceiling_rps=$(awk -F'|' '$1 == "ceiling" { print $3 }' "$dir/rows")
	echo "| scenario | req/s | p50 ms | p99 ms | non-2xx | % of ceiling |"
	echo "|---|---:|---:|---:|---:|---:|"
	awk -F'|' -v c="$ceiling_rps" '{
		pct = c > 0 ? sprintf("%.1f%%", 100 * $3 / c) : "-"
		bad = $6 + 0
		if ($7 + 0 > 0) bad = bad " (+" $7 " socket errors)"
		lat50 = $4; lat99 = $5
		what = $1 == "ceiling" ? "ceiling: " $2 : "(" $1 ") " $2
		printf "| %s | %s | %s | %s | %s | %s |\n", what, $3, lat50, lat99, bad, pct
	}' "$dir/rows"
	echo
	echo "a-d and the ceiling: wrk, HTTP/1.1 keep-alive; non-2xx is wrk's \"Non-2xx or 3xx\" count."
	echo "(e): HTTP/2 (h2load, $streams streams per connection, so ${conns}x$streams calls in flight);"
	echo "p50/p99 from h2load's per-request log; non-2xx = calls without an OK answer (HTTP non-2xx,"
	echo "grpc-status not 0, reset), counted from the DATA bytes (every OK answer is $grpc_bytes bytes)."
	echo
	echo "RSS (VmRSS) before the load, right after the last run, settled (${BENCH_SETTLE_SECONDS:-12} s"
	echo "later, the stack idle), and the peak (VmHWM), MB:"
	echo
	echo "| process | pid | before | after | settled | peak |"
	echo "|---|---|---:|---:|---:|---:|"
	rss_row gateway gateway
	rss_row users users
	rss_row posts posts
	rss_row auth auth
	rss_row postgres "postgres (shared buffers counted in each)"
	rss_row redis redis
	rss_row ceiling ceiling
	echo
	echo "CPU seconds used during each measured run ($secs s; $(nproc) cores = $((secs * $(nproc))) s available;"
	echo "load = wrk or h2load; others = every other process on the machine):"
	echo
	echo "| scenario | gateway | users | posts | auth | postgres | redis | ceiling | load | others |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	cat "$dir/cpu.rows"
	echo
	echo "Per request during each measured run, per process (every thread of it): CPU ms (from"
	echo "/proc), syscalls entered and context switches (\`perf stat -e"
	echo "raw_syscalls:sys_enter,context-switches -p <pids>\` over the run; \"-\" without perf):"
	echo
	echo "| scenario | process | CPU ms | syscalls | context switches |"
	echo "|---|---|---:|---:|---:|"
	cat "$dir/per.rows"
	echo
	echo "SQL per request during each measured run (pg_stat_statements: statements, execution and"
	echo "planning ms per request; the heaviest statement by execution time):"
	echo
	echo "| scenario | statements | exec ms | plan ms | heaviest statement |"
	echo "|---|---:|---:|---:|---|"
	cat "$dir/sql.rows"
	echo
	echo "Commands:"
	echo
	cat "$dir/commands"
}

machine() {
	model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- commit: $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "- machine: $(nproc) CPUs, ${model:-unknown CPU}, $mem RAM, Linux $(uname -r)"
	echo "- data: $nusers users, $nposts posts (90% published), $ncomments comments;" \
		"$secs s per scenario after a ${warm} s warm-up; LOG_LEVEL=warn, RATE_LIMIT_ENABLED=false"
}

check_alive
report >"$dir/table.md"
{
	echo "# Benchmark run"
	echo
	machine
	echo
	cat "$dir/table.md"
} >"$dir/results.md"
echo
cat "$dir/results.md"
echo
say "written to $dir/results.md"
if [ "$failed" -ne 0 ]; then
	say "FAILED: a scenario had errors or a process died (outputs in $dir)"
	exit 1
fi
exit 0
