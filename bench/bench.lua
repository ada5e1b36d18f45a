-- Lua peer: systems "lua" (lua5.4) and "luajit"; plain Lua 5.1 syntax so
-- that both run it.
--
--   lua5.4 bench.lua SYSTEM [ms]   rows roundtrip, create
--
-- roundtrip: coroutine.resume of a coroutine suspended in a yield loop
-- create:    coroutine.create + resume (to the yield) + resume (to the end)
-- Timed with os.clock (process CPU time, microsecond resolution: Lua has no
-- finer clock), over runs of about [ms] milliseconds.

local sys_name = arg[1] or "lua"
local target_ms = tonumber(arg[2] or "200") or 200

local create, resume, yield = coroutine.create, coroutine.resume, coroutine.yield
local clock = os.clock

local function forever()
  while true do yield() end
end

local function one()
  yield()
end

local rt = create(forever)
resume(rt)

local function loop_roundtrip(n)
  local co = rt
  for _ = 1, n do resume(co) end
end

local function loop_create(n)
  local f = one
  for _ = 1, n do
    local co = create(f)
    resume(co)
    resume(co)
  end
end

-- Grow n until a call takes 20 ms (the warm-up), then time one call of
-- about target_ms; nanoseconds per operation.
local function measure(loop)
  local n, t = 16, 0
  while true do
    local t0 = clock()
    loop(n)
    t = clock() - t0
    if t >= 0.020 then break end
    if t < 0.002 then n = n * 8 else n = n * 2 end
  end
  local big = math.floor(target_ms / 1000 / t * n)
  if big < 1 then big = 1 end
  local t0 = clock()
  loop(big)
  return (clock() - t0) * 1e9 / big
end

io.write(string.format("roundtrip\t%s\t%.3f\n", sys_name, measure(loop_roundtrip)))
io.flush()
io.write(string.format("create\t%s\t%.3f\n", sys_name, measure(loop_create)))
io.flush()
