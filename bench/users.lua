-- bench/users.lua - wrk script of scenario (a): GET /api/v1/users/:id with a
-- bearer token, over every id 1..BENCH_USERS in turn.
--
--   BENCH_TOKEN=<JWT> BENCH_USERS=10000 BENCH_THREADS=2 \
--       wrk -t2 -c64 -d10s --latency -s bench/users.lua http://127.0.0.1:3100
--
-- Thread k of n asks for ids k+1, k+1+n, k+1+2n, ... (wrapping), so that the
-- threads together walk every id once before any id comes back: a warm-up of
-- at least BENCH_USERS requests leaves every user in the cache.

local token = os.getenv("BENCH_TOKEN") or ""
local users = tonumber(os.getenv("BENCH_USERS") or "10000")
local threads = tonumber(os.getenv("BENCH_THREADS") or "2")
local created = 0

-- Runs in the main state, once per thread: hands each thread its number.
function setup(thread)
	thread:set("tid", created)
	created = created + 1
end

local counter = 0
local headers = { ["Authorization"] = "Bearer " .. token }

function request()
	local id = (counter * threads + tid) % users + 1
	counter = counter + 1
	return wrk.format("GET", "/api/v1/users/" .. id, headers)
end
