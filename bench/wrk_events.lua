-- wrk script for POST /v1/events (issue 6 benchmarks, bench/suite_throughput.sh):
--   wrk -t2 -c64 -d20s -s bench/wrk_events.lua http://127.0.0.1:PORT/v1/events -- N [TOKEN] [SALT]
-- Every request carries N events as JSON (one object when N is 1, else an array of N), in the
-- workload's mix (bench/workload.c; bench/loadgen.c builds the same bodies): 97% consent changes
-- (accept_all 55%, reject_all 20%, customize 20% with random purposes and 0-4 vendors, withdraw
-- 3%, renew 2%) and 3% data-rights requests; 4 tenants; subjects from a million, always a
-- device_id and in 30% of events also account_id and email.
-- To keep wrk's own CPU small (it shares the machine with the server), each thread builds 10,000
-- event bodies (tenant and consent part; data-rights parts are built per event, their request_id
-- must be new) in init(); every event takes a random one of
-- them with its own subject (drawn from the million, as the workload does: the subject_entry
-- index sees as many distinct keys as in the Kafka runs) and a new event_id: random hex except the
-- last 8 digits (wrk thread, then a counter per thread), so no two events of a run repeat an id;
-- the random part is seeded from the time, SALT and thread. occurred_at is the second before
-- init().
-- done() prints one line "WRK key=value ..." that the suite records.

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

local per_request, headers, seq
local random, format, concat = math.random, string.format, table.concat

local tenants = { "shop-eu", "shop-us", "news", "app" }
local languages = { "en", "de", "fr", "es", "nl", "it" }
local purposes = { "analytics", "advertising", "functional", "personalization" }
local vendors = { "adform", "criteo", "google_ads", "hotjar", "linkedin", "meta", "microsoft", "tiktok" }
local rights = { "access", "erasure", "portability", "objection" }
local notice_sha = "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"
local tails, n_tails, stamp = {}, 10000, ""

local function uuid()
  seq = seq + 1
  return format("%08x-%04x-4%03x-%04x-%04x%02x%06x", random(0, 4294967295), random(0, 65535),
    random(0, 4095), 0x8000 + random(0, 0x3fff), random(0, 65535), (tid or 0) % 256,
    seq % 0x1000000)
end

local function subject()
  local n = random(0, 999999)
  local s = format('"subject":{"device_id":"d-%08x%04x"', (n * 2654435761) % 4294967296, n % 65536)
  if random(1, 100) <= 30 then
    s = s .. format(',"account_id":"u_%d","email":"user%d@example.com"', n, n)
  end
  return s .. "}"
end

local function consent()
  local r = random(1, 100)
  local action = r <= 55 and "accept_all" or r <= 75 and "reject_all" or r <= 95 and "customize"
    or r <= 98 and "withdraw" or "renew"
  local surface = random(1, 100) <= 85 and "banner" or "preferences"
  local parts = { format('"consent":{"action":"%s"', action) }
  if action == "customize" then
    local p = {}
    for i = 1, #purposes do
      p[i] = format('"%s":%s', purposes[i], random(0, 1) == 1 and "true" or "false")
    end
    parts[#parts + 1] = ',"purposes":{' .. concat(p, ",") .. "}"
    local nv, first = random(0, 4), random(0, #vendors - 1)
    if nv > 0 then
      local v = {}
      for i = 1, nv do
        v[i] = format('"%s":%s', vendors[(first + i - 1) % #vendors + 1],
          random(0, 1) == 1 and "true" or "false")
      end
      parts[#parts + 1] = ',"vendors":{' .. concat(v, ",") .. "}"
    end
  end
  parts[#parts + 1] = format(
    ',"notice":{"policy_version":"2026-11-01","banner_version":"b-42","language":"%s","content_sha256":"%s"},"surface":"%s"}',
    languages[random(1, #languages)], notice_sha, surface)
  return concat(parts)
end

local function rights_request()
  -- two draws: a request_id must not repeat (the register refuses a second receipt)
  return format('"data_rights":{"request_id":"dsr-%d-%d","right":"%s","stage":"received","channel":"web"}',
    random(0, 999999999), random(0, 999999999), rights[random(1, #rights)])
end

-- An event's tenant and consent body, without event_id, time and subject; false for a
-- data-rights event, which is built anew for each event: a request_id must not repeat (the
-- register refuses a second receipt), so those bodies cannot be reused.
local function event_tail()
  if random(1, 100) > 97 then return false end
  return format('"tenant":"%s",%s}', tenants[random(1, #tenants)], consent())
end

local function event()
  local tail = tails[random(1, n_tails)]
  if not tail then
    tail = format('"tenant":"%s",%s}', tenants[random(1, #tenants)], rights_request())
  end
  return '{"event_id":"' .. uuid() .. '","occurred_at":"' .. stamp .. '",' .. subject() .. ','
    .. tail
end

function init(args)
  per_request = tonumber(args[1] or "1") or 1
  headers = { ["Content-Type"] = "application/json" }
  if args[2] and args[2] ~= "" then
    headers["Authorization"] = "Bearer " .. args[2]
  end
  local salt = tonumber(args[3] or "0") or 0
  math.randomseed(os.time() + salt * 1009 + (tid or 0) * 7919 + math.floor(os.clock() * 1e6))
  seq = 0
  stamp = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 1)
  for i = 1, n_tails do tails[i] = event_tail() end
  if os.getenv("WRK_EVENTS_SAMPLE") and tid == 1 then io.write(event(), "\n") end
end

function request()
  local body
  if per_request == 1 then
    body = event()
  else
    local evs = {}
    for i = 1, per_request do evs[i] = event() end
    body = "[" .. concat(evs, ",") .. "]"
  end
  return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(format("WRK requests=%d duration_us=%d bytes=%d connect_errors=%d read_errors=%d "
    .. "write_errors=%d status_errors=%d timeouts=%d lat_p50_us=%d lat_p99_us=%d lat_max_us=%d\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
