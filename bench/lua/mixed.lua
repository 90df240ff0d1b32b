-- Mixed load for the soak: lookups, parcel breakdowns and tiles, chosen at random per request.
-- wrk ... URL -- KEYS_FILE MINLON MINLAT MAXLON MAXLAT VERSION
--   50 % GET /v1/lookup at a random point, 20 % GET /v1/parcels/{key} of a random parcel,
--   30 % GET /tiles/{zoning|parcels}/{z}/{x}/{y}.mvt?v=VERSION at z14-z17 over the box.
local common = require("common")
local keys = {}
local x0, y0, x1, y1, version

setup = common.setup
done = common.done

local function tile(lon, lat, z)
  local n = 2 ^ z
  local x = math.floor((lon + 180) / 360 * n)
  local r = math.rad(lat)
  local y = math.floor((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
  return x, y
end

function init(args)
  common.seed()
  for line in io.lines(args[1]) do
    keys[#keys + 1] = line
  end
  x0, y0, x1, y1 = tonumber(args[2]), tonumber(args[3]), tonumber(args[4]), tonumber(args[5])
  version = args[6]
end

function request()
  local lon = x0 + math.random() * (x1 - x0)
  local lat = y0 + math.random() * (y1 - y0)
  local pick = math.random()
  local path
  if pick < 0.5 then
    path = string.format("/v1/lookup?lon=%.7f&lat=%.7f", lon, lat)
  elseif pick < 0.7 then
    path = "/v1/parcels/" .. keys[math.random(#keys)]
  else
    local z = math.random(14, 17)
    local x, y = tile(lon, lat, z)
    local ts = "zoning"
    if z >= 15 and math.random() < 0.5 then ts = "parcels" end
    path = string.format("/tiles/%s/%d/%d/%d.mvt?v=%s", ts, z, x, y, version)
  end
  return wrk.format("GET", path, {["Accept-Encoding"] = "gzip"})
end
