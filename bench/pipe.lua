-- Lua peer of the pipeline benchmark (bench/bench_pipe.c), run by
-- bench/run.sh with lua5.4:
--
--   lua5.4 pipe.lua N
--
-- sum(y for y in (x * 3 for x in range(N)) if y % 7 != 0) with every stage
-- a coroutine (coroutine.wrap), the Lua way to write lazy generator stages.
-- Prints the ns per source item (os.clock: CPU time) as rows "pipeline" and
-- "pipeline-gen" (one measurement for both tables).

local n = math.tointeger(tonumber(arg[1] or "2000000")) or 2000000
local wrap, yield = coroutine.wrap, coroutine.yield

local function source(count)
  return wrap(function() for x = 0, count - 1 do yield(x) end end)
end
local function map(f, it)
  return wrap(function() for x in it do yield(f(x)) end end)
end
local function filter(p, it)
  return wrap(function() for x in it do if p(x) then yield(x) end end end)
end

local function pipeline(count)
  local s = 0
  for y in filter(function(y) return y % 7 ~= 0 end, map(function(x) return x * 3 end, source(count))) do
    s = s + y
  end
  return s
end

pipeline(n // 100) -- warm-up
local t0 = os.clock()
local got = pipeline(n)
local ns = (os.clock() - t0) * 1e9 / n
local want = 0
for x = 0, n - 1 do
  local y = x * 3
  if y % 7 ~= 0 then want = want + y end
end
if got ~= want then
  io.stderr:write(string.format("pipe.lua: sum %d, want %d\n", got, want))
  os.exit(1)
end
io.write(string.format("pipeline\tlua\t%.3f\npipeline-gen\tlua\t%.3f\n", ns, ns))
