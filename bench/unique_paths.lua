-- wrk script for the gateway-cache-miss case: every request asks for a URL
-- never asked before, /obj/<run>-<n>, so a caching proxy misses every time.
-- <run> is a fresh UUID per wrk process (the kernel's), so the measured run
-- does not hit what the warm-up run stored; n counts this thread's requests.
local prefix
local n = 0

function init(args)
  local f = io.open("/proc/sys/kernel/random/uuid", "r")
  local run = f and f:read("*l") or tostring(os.time())
  if f then f:close() end
  prefix = "/obj/" .. run .. "-"
end

function request()
  n = n + 1
  return wrk.format(nil, prefix .. n)
end
