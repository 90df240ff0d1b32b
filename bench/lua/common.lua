-- Shared by the wrk scripts: seed each thread differently and print a JSON summary at the end.
local M = {}

function M.setup(thread)
  M.n = (M.n or 0) + 1
  thread:set("tid", M.n)
end

function M.seed()
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end

function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nWRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "rps": %.2f, '
      .. '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "mean_ms": %.3f, "max_ms": %.3f, '
      .. '"non2xx": %d, "errors": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.mean / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end

return M
