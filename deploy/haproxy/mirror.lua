-- cloudshift's request mirror for HAProxy 2.6 (which has no mirror directive).
--
-- cloudshift_keep_body (http-req) keeps the request's body and id with the transaction.
-- cloudshift_mirror (http-res) runs only for requests the source answered; it sends the kept
-- request to the target from a task of its own, after the caller has its answer, and drops the
-- target's answer. The target sees x-cloudshift-role: mirrored, so its metrics keep mirrored
-- requests apart, and the same x-request-id as the source, so predictions can be joined by id.
-- A body that did not fit HAProxy's buffer is not mirrored: a partial copy would be a bad request.

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
    method = txn.f:method() or "POST",
    id = txn.f:unique_id() or "",
    ctype = txn.f:req_hdr("content-type") or "application/json",
  })
end, 0)

core.register_action("cloudshift_mirror", { "http-res" }, function(txn, target)
  local kept = txn:get_priv()
  if kept == nil then return end
  core.register_task(function()
    local client = core.httpclient()
    local headers = {
      ["content-type"] = { kept.ctype },
      ["x-request-id"] = { kept.id },
      ["x-cloudshift-role"] = { "mirrored" },
    }
    local request = { url = target .. kept.path, body = kept.body, headers = headers, timeout = 30000 }
    if kept.method == "POST" then client:post(request)
    elseif kept.method == "PUT" then client:put(request)
    else client:get(request) end
  end)
end, 1)
