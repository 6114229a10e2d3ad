# bench/lib.sh - shell functions shared by bench/run.sh and bench/soak.sh
# (sourced, not run). The sourcing script sets:
#   tag    the prefix of its messages ("bench", "soak")
#   dir    its throwaway folder (PostgreSQL and Redis live there)
#   stack  "sh <root>/deploy/local/stack.sh"
#   names  its processes; the pid of <name> is in the variable <name>_pid
# and may define stop_hook, run by stop_all before anything is stopped.

say() {
	echo "$tag: $*" >&2
}

die() {
	say "$*"
	exit 1
}

pid_of() {
	eval "echo \${${1}_pid}"
}

# The process exists and is not a zombie.
alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null &&
		[ "$(sed 's/^.*) \(.\).*$/\1/' "/proc/$1/stat" 2>/dev/null)" != "Z" ]
}

# The EXIT trap: stops every process of $names, then Redis and PostgreSQL,
# and fails (exit 1) when anything of this run is left behind.
stop_all() {
	rc=$?
	trap - INT TERM EXIT
	say "stopping..."
	if command -v stop_hook >/dev/null 2>&1; then stop_hook; fi
	for n in $names; do
		p=$(pid_of "$n")
		if [ -n "$p" ]; then kill -TERM "$p" 2>/dev/null || true; fi
	done
	for n in $names; do
		p=$(pid_of "$n")
		if [ -n "$p" ]; then wait "$p" 2>/dev/null || true; fi
	done
	$stack redis-stop "$dir" || rc=1
	$stack pg-stop "$dir" || rc=1
	# Nothing of this run may be left: our pids, or anything using $dir.
	left=$(ps -eo pid=,args= | awk -v d="$dir" -v me=$$ \
		'index($0, d) && $1 != me && !/awk -v d=/ { print }')
	for n in $names; do
		p=$(pid_of "$n")
		if alive "$p"; then
			left="$left
$p ($n)"
		fi
	done
	if [ -n "$(echo "$left" | tr -d ' \n')" ]; then
		say "processes left behind:$left"
		rc=1
	else
		say "stopped (no process left)"
	fi
	exit $rc
}

# wait_for <what> <command...>: until the command succeeds (30 s at most).
wait_for() {
	what=$1
	shift
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le 300 ] || die "$what did not become ready (logs in $dir)"
		sleep 0.1
	done
}
