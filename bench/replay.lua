-- wrk script: send pre-generated raw HTTP requests read from a file, split between wrk's
-- threads. Arguments (after `--`): FILE THREADS [cycle]
--   FILE     for each request: its length in bytes, a newline, then the request itself
--   THREADS  wrk's -t, so each thread takes every THREADS-th request
--   cycle    start again from the first request when all were sent; without it each
--            request goes out once (signed webhooks are refused as replays the second
--            time) and a thread that runs out stops, its last request a GET /bench/bare.
-- done() prints one line "WRKJSON {...}" that bench/run.py reads.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_index", #threads)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local data = file:read("*a")
  file:close()
  local nthreads = tonumber(args[2])
  cycle = args[3] == "cycle"
  queue = {}
  local pos, n = 1, 0
  while pos <= #data do
    local newline = string.find(data, "\n", pos, true)
    local length = tonumber(string.sub(data, pos, newline - 1))
    if n % nthreads == thread_index - 1 then
      queue[#queue + 1] = string.sub(data, newline + 1, newline + length)
    end
    n = n + 1
    pos = newline + 1 + length
  end
  position = 1
  sent = 0
  exhausted = 0
  -- wrk calls request() once on its first thread to check the script, and never sends that
  -- request: it must not use up a signed one.
  checking = thread_index == 1
end

function request()
  if checking then
    checking = false
    return wrk.format("GET", "/bench/bare")
  end
  if position > #queue then
    if not cycle then
      exhausted = exhausted + 1
      wrk.thread:stop()
      return wrk.format("GET", "/bench/bare")
    end
    position = 1
  end
  local raw = queue[position]
  position = position + 1
  sent = sent + 1
  return raw
end

function done(summary, latency, requests)
  local sent_total, exhausted_total = 0, 0
  for _, thread in ipairs(threads) do
    sent_total = sent_total + thread:get("sent")
    exhausted_total = exhausted_total + thread:get("exhausted")
  end
  local errors = summary.errors
  io.write(string.format(
    'WRKJSON {"responses": %d, "duration_us": %d, "sent": %d, "exhausted": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "bad_status": %d, ' ..
    '"timeouts": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, sent_total, exhausted_total,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
