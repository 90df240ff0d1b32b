-- A random tile of one zoom inside a tile range per request.
-- wrk ... URL -- TEMPLATE Z XMIN YMIN XMAX YMAX
--   TEMPLATE is a path with {z}, {x}, {y}, e.g. /tiles/zoning/{z}/{x}/{y}.mvt?v=3
local common = require("common")
local template, z, x0, y0, x1, y1

setup = common.setup
done = common.done

function init(args)
  common.seed()
  template = args[1]
  z = tonumber(args[2])
  x0, y0, x1, y1 = tonumber(args[3]), tonumber(args[4]), tonumber(args[5]), tonumber(args[6])
end

function request()
  local x = math.random(x0, x1)
  local y = math.random(y0, y1)
  local path = template:gsub("{z}", tostring(z)):gsub("{x}", tostring(x)):gsub("{y}", tostring(y))
  return wrk.format("GET", path)
end
