-- wrk script for the pipelined cases: every write carries PIPELINE_DEPTH
-- (default 16) copies of the request named by wrk's URL, so the server sees
-- a batch of requests per read. wrk still counts each response as one
-- request, but it records latency once per batch (from the write to the
-- last response of that batch).
local depth = tonumber(os.getenv("PIPELINE_DEPTH") or "16") or 16
local batch

function init(args)
  local one = wrk.format(nil, wrk.path)
  batch = string.rep(one, depth)
end

function request()
  return batch
end
