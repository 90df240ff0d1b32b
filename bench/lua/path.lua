-- The same path on every request (keep-alive latency of a trivial endpoint).
-- wrk ... URL -- PATH
local common = require("common")
local path

setup = common.setup
done = common.done

function init(args)
  common.seed()
  path = args[1]
end

function request()
  return wrk.format("GET", path)
end
