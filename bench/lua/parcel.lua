-- A random existing parcel per request: GET /v1/parcels/{commune}/{sheet}/{parcel}.
-- wrk ... URL -- KEYS_FILE   (one "commune/sheet/parcel" per line)
local common = require("common")
local keys = {}

setup = common.setup
done = common.done

function init(args)
  common.seed()
  for line in io.lines(args[1]) do
    keys[#keys + 1] = line
  end
end

function request()
  return wrk.format("GET", "/v1/parcels/" .. keys[math.random(#keys)])
end
