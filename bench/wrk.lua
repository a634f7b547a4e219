-- Cycles through the request paths listed in the file given after "--", and
-- prints one JSON line with the results when the run ends. A second file, if
-- given, holds header sets ("Name: value" lines, a blank line after each set),
-- cycled independently of the paths: every request then carries one set.
local paths = {}
local header_sets = {}
local index = 0
local header_index = 0

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  if args[2] then
    local set = {}
    for line in io.lines(args[2]) do
      if line == "" then
        header_sets[#header_sets + 1] = set
        set = {}
      else
        local name, value = line:match("^([^:]+): (.*)$")
        set[name] = value
      end
    end
  end
end

function request()
  index = index % #paths + 1
  if #header_sets == 0 then
    return wrk.format("GET", paths[index])
  end
  header_index = header_index % #header_sets + 1
  return wrk.format("GET", paths[index], header_sets[header_index])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
