-- cloudshift's request mirror and agreement capture for HAProxy 2.6 (which has no mirror directive).
--
-- cloudshift_keep_body (http-req) keeps the request's body and id with the transaction.
-- cloudshift_mirror (http-res) runs only for requests the source answered; it sends the kept
-- request to the target from a task of its own, after the caller has its answer. The target sees
-- x-cloudshift-role: mirrored, so its metrics keep mirrored requests apart, and the same
-- x-request-id as the source.
-- Both answers (the source's, as the caller got it, and the target's to the copy) are kept
-- together in a bounded ring, served at /cloudshift/mirrored?since=<epoch ms> on the metrics
-- frontend (cloudshift_mirrored): the canary reads what any two servers answered, and compares
-- them itself, without either server recording anything. Nothing here parses a body.
-- A request or answer that did not fit HAProxy's buffer is neither mirrored nor kept: a partial
-- copy would be a bad request, a partial answer an unreadable one.

local MAX_PAIRS = 20000
local MAX_BYTES = 32 * 1024 * 1024

local ring = {}
local first, last = 1, 0
local kept_bytes = 0
local dropped, skipped = 0, 0

local function now_ms()
  local t = core.now()
  return t.sec * 1000 + t.usec // 1000
end

local function keep(pair)
  last = last + 1
  ring[last] = pair
  kept_bytes = kept_bytes + #pair.source + #pair.target
  while (last - first + 1) > MAX_PAIRS or kept_bytes > MAX_BYTES do
    local old = ring[first]
    ring[first] = nil
    first = first + 1
    kept_bytes = kept_bytes - #old.source - #old.target
    dropped = dropped + 1
  end
end

-- A header field's value without anything that would break the record's first line.
local function field(value)
  return (tostring(value or ""):gsub("[%s]", "_"))
end

core.register_action("cloudshift_keep_body", { "http-req" }, function(txn)
  local length = tonumber(txn.f:req_hdr("content-length") or "0") or 0
  local body = txn.f:req_body() or ""
  if #body ~= length then
    txn:set_priv(nil)
    return
  end
  txn:set_priv({
    body = body,
    path = txn.f:path() or "/",
    query = txn.f:query(),
    method = txn.f:method() or "POST",
    id = txn.f:unique_id() or "",
    ctype = txn.f:req_hdr("content-type") or "application/json",
  })
end, 0)

core.register_action("cloudshift_mirror", { "http-res" }, function(txn, target)
  local kept = txn:get_priv()
  if kept == nil then return end
  local source_status = txn.f:status() or 0
  local source_body = txn.f:res_body() or ""
  local declared = tonumber(txn.f:res_hdr("content-length") or "")
  local complete = declared == nil or declared == #source_body
  core.register_task(function()
    local client = core.httpclient()
    local headers = {
      ["content-type"] = { kept.ctype },
      ["x-request-id"] = { kept.id },
      ["x-cloudshift-role"] = { "mirrored" },
    }
    local url = target .. kept.path
    if kept.query ~= nil and kept.query ~= "" then url = url .. "?" .. kept.query end
    local request = { url = url, body = kept.body, headers = headers, timeout = 30000 }
    -- A target that refuses or resets raises inside the client: that is an answer of nothing.
    local sent, response = pcall(function()
      if kept.method == "POST" then return client:post(request) end
      if kept.method == "PUT" then return client:put(request) end
      return client:get(request)
    end)
    if not sent then response = nil end
    if not complete then
      skipped = skipped + 1
      return
    end
    local target_status = (response and response.status) or 0
    local target_body = (response and response.body) or ""
    keep({
      at = now_ms(),
      id = kept.id,
      path = kept.path,
      source_status = source_status,
      target_status = target_status,
      source = source_body,
      target = target_body,
    })
  end)
end, 1)

-- The pairs kept at or after ?since= (epoch ms), oldest first. The answer is a first line
-- "cloudshift-mirrored 1 dropped=<n> skipped=<n> pairs=<n>", then per pair one line
-- "<at> <id> <path> <source status> <target status> <source bytes> <target bytes>" followed by
-- the two answers' bytes, as they were.
core.register_service("cloudshift_mirrored", "http", function(applet)
  local since = tonumber((applet.qs or ""):match("since=(%d+)") or "0") or 0
  local parts = {}
  local count = 0
  for i = first, last do
    local pair = ring[i]
    if pair ~= nil and pair.at >= since then
      count = count + 1
      parts[#parts + 1] = string.format("%d %s %s %d %d %d %d\n", pair.at, field(pair.id), field(pair.path),
        pair.source_status, pair.target_status, #pair.source, #pair.target)
      parts[#parts + 1] = pair.source
      parts[#parts + 1] = pair.target
    end
  end
  local body = string.format("cloudshift-mirrored 1 dropped=%d skipped=%d pairs=%d\n", dropped, skipped, count) .. table.concat(parts)
  applet:set_status(200)
  applet:add_header("content-type", "application/octet-stream")
  applet:add_header("content-length", tostring(#body))
  applet:start_response()
  applet:send(body)
end)
