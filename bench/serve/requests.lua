-- wrk script for bench/serve_load.sh: POST /translate (LibreTranslate API) with one real
-- sentence per request, cycling through the bodies in $WRK_BODIES (one JSON body per line);
-- each thread stops after $WRK_REQUESTS_PER_THREAD responses, so the run is bounded in count
-- (and by wrk's -d in time). done() prints one machine-readable line.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local bodies = {}
local counter = 0
local responses = 0
local limit = tonumber(os.getenv("WRK_REQUESTS_PER_THREAD") or "100")
status_counts = {}

function init(args)
  for line in io.lines(os.getenv("WRK_BODIES")) do
    bodies[#bodies + 1] = line
  end
  counter = id * 7919
end

function request()
  counter = counter + 1
  local body = bodies[(counter % #bodies) + 1]
  return wrk.format("POST", "/translate", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  responses = responses + 1
  status_counts[status] = (status_counts[status] or 0) + 1
  if responses >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local statuses = {}
  for _, t in ipairs(threads) do
    local counts = t:get("status_counts")
    for s, n in pairs(counts) do
      statuses[s] = (statuses[s] or 0) + n
    end
  end
  local parts = {}
  for s, n in pairs(statuses) do
    parts[#parts + 1] = s .. ":" .. n
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f " ..
    "connect_err=%d read_err=%d write_err=%d timeout_err=%d non2xx=%d statuses=%s\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(90) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
    e.connect, e.read, e.write, e.timeout, e.status, table.concat(parts, ",")))
end
