-- Lua 5.4 / LuaJIT peer of `bench_dense density`: RSS growth per live
-- suspended coroutine, run by bench/run.sh:
--
--   lua5.4 dense_mem.lua SYSTEM N      (SYSTEM: lua or luajit, the row's name)
--
-- Makes N coroutines over an endless counter, resumes each to its first
-- yield, keeps them all in a table sized before the first reading, and
-- prints "SYSTEM<TAB>N<TAB>rss_bytes_per_generator".
local sys_name, n = arg[1] or "lua", tonumber(arg[2] or "1000000")

local function rss_bytes()
  local f = assert(io.open("/proc/self/statm", "r"))
  local _, rss = f:read("*n", "*n")
  f:close()
  return rss * 4096
end

local function counter()
  local i = 0
  while true do
    coroutine.yield(i)
    i = i + 1
  end
end

local cos = {}
for k = 1, n do cos[k] = false end -- the table's slots, outside the count
collectgarbage()
collectgarbage()
local before = rss_bytes()
for k = 1, n do
  local co = coroutine.create(counter)
  local ok, v = coroutine.resume(co)
  if not ok or v ~= 0 then error("resume failed: " .. tostring(v)) end
  cos[k] = co
end
collectgarbage()
collectgarbage()
local after = rss_bytes()
io.write(string.format("%s\t%d\t%.1f\n", sys_name, n, (after - before) / n))
