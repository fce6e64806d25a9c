-- wrk's side of `npm run bench -- gateway`: POSTs one prediction request (the body comes from
-- BENCH_BODY) on every connection and prints the run as one JSON line for the bench to read.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["content-type"] = "application/json"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p99_us":%d,"non2xx":%d,"errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
