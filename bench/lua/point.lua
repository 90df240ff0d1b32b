-- A random point inside a lon/lat box per request.
-- wrk ... URL -- ours|tipg minlon minlat maxlon maxlat
--   ours: GET /v1/lookup?lon=..&lat=..
--   tipg: GET /collections/planning.zone/items?bbox=<1 m box around the point>&limit=10
local common = require("common")
local mode, x0, y0, x1, y1

setup = common.setup
done = common.done

function init(args)
  common.seed()
  mode = args[1]
  x0, y0, x1, y1 = tonumber(args[2]), tonumber(args[3]), tonumber(args[4]), tonumber(args[5])
end

function request()
  local lon = x0 + math.random() * (x1 - x0)
  local lat = y0 + math.random() * (y1 - y0)
  local path
  if mode == "tipg" then
    -- Half a metre each way: 1 m box.
    local dy = 0.5 / 111320
    local dx = dy / math.cos(math.rad(lat))
    path = string.format(
      "/collections/planning.zone/items?bbox=%.8f,%.8f,%.8f,%.8f&limit=10",
      lon - dx, lat - dy, lon + dx, lat + dy)
  else
    path = string.format("/v1/lookup?lon=%.7f&lat=%.7f", lon, lat)
  end
  return wrk.format("GET", path)
end
