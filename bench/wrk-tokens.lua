-- wrk script of `npm run bench` (bench/load.ts runs it): one `Authorization: Bearer` header per request,
-- taken in turn from a file of tokens, one a line.
--
--   wrk -t1 ... -s bench/wrk-tokens.lua URL -- FILE OFFSET LIMIT ONCE STAMP
--
-- FILE    tokens, one a line
-- OFFSET  where this run starts: the bench advances it by the requests each run sent, so a cold pool is
--         never sent twice to one server, across the warm-up and every measured window
-- LIMIT   lines to load from OFFSET when ONCE is 1 (the cold pool is large; a run needs only its share)
-- ONCE    1: each token once, in order (cold); 0: cycle through the whole file (warm, mixed, garbage)
-- STAMP   0, or the 1-based character where 6 base64url digits of the request number overwrite the token:
--         distinct tokens from a few templates (a forged signature that is never the same twice)
--
-- done() prints one line `BENCH-WRK {json}`: requests sent, whether a ONCE pool ran out, the statuses
-- seen, and 1000 latency quantiles (µs) from which the bench pools percentiles across rounds.
-- One wrk thread only: the offset is one cursor, and the generator is pinned to one core anyway.

local tokens, n = {}, 0
local once, stampAt, base, at = false, 0, 0, 1
local prefix, suffix = "", "\r\n\r\n"
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local threads = {}

-- Read back by done() through thread:get.
sent = 0
wrapped = 0
statuses = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  local file, offset, limit = args[1], tonumber(args[2]), tonumber(args[3])
  once = args[4] == "1"
  stampAt = tonumber(args[5])
  base = offset
  local i = 0
  for line in io.lines(file) do
    if once and i >= offset + limit then break end
    if not once or i >= offset then
      n = n + 1
      tokens[n] = line
    end
    i = i + 1
  end
  if n == 0 then error("no tokens in " .. file .. " from " .. offset) end
  if not once then at = (offset % n) + 1 end
  prefix = "GET " .. wrk.path .. " HTTP/1.1\r\nHost: " .. wrk.host .. ":" .. wrk.port .. "\r\nAuthorization: Bearer "
end

local function stamp(token, number)
  local digits = {}
  for d = 6, 1, -1 do
    local v = number % 64
    digits[d] = string.sub(B64, v + 1, v + 1)
    number = (number - v) / 64
  end
  return string.sub(token, 1, stampAt - 1) .. table.concat(digits) .. string.sub(token, stampAt + 6)
end

function request()
  if at > n then
    at = 1
    if once then wrapped = 1 end
  end
  local token = tokens[at]
  at = at + 1
  if stampAt > 0 then token = stamp(token, base + sent) end
  sent = sent + 1
  return prefix .. token .. suffix
end

function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total, anyWrapped, seen = 0, 0, {}
  for _, thread in ipairs(threads) do
    total = total + thread:get("sent")
    if thread:get("wrapped") == 1 then anyWrapped = 1 end
    for status, count in pairs(thread:get("statuses")) do
      seen[#seen + 1] = string.format('"%d":%d', status, count)
    end
  end
  local q = {}
  for k = 0, 999 do
    q[#q + 1] = string.format("%d", latency:percentile((k + 0.5) / 10))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-WRK {"sent":%d,"wrapped":%d,"responses":%d,"durationUs":%d,"bytes":%d,"socketErrors":%d,"timeouts":%d,"statuses":{%s},"quantilesUs":[%s]}\n',
    total, anyWrapped, summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write, e.timeout, table.concat(seen, ","), table.concat(q, ",")))
end
