-- wrk script for the pco-sim throughput benchmark.
-- Cycles `offset` over the first N pages of people (100 per page, with emails, phone numbers and
-- addresses included) and authenticates with an org's Personal Access Token.
--   AUTH="Basic ..." PAGES=50 wrk -t2 -c16 -d15s -s cluster/bench/sim-wrk.lua http://127.0.0.1:PORT
-- AUTH is `basic_authorization` of `GET /__sim/orgs`; PAGES is people / 100.
local auth = os.getenv("AUTH") or ""
local pages = tonumber(os.getenv("PAGES") or "50")
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  page = id or 0
end

function request()
  page = (page + 1) % pages
  local path = "/people/v2/people?per_page=100&include=emails,phone_numbers,addresses&offset=" .. (page * 100)
  return wrk.format("GET", path, { ["Authorization"] = auth })
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx or socket errors: %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
