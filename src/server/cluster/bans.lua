-- The bans in force, for an instance that may have missed some being told
-- (it just started, or Redis had forgotten it). Ended ones are dropped.
-- ARGV: prefix. Returns {address key, ms left, address key, ms left, ...}.
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', p .. 'bans', '-inf', now)
local found = redis.call('ZRANGE', p .. 'bans', 0, -1, 'WITHSCORES')
local left = {}
for i = 1, #found, 2 do
  left[#left + 1] = found[i]
  left[#left + 1] = tostring(tonumber(found[i + 1]) - now)
end
return left
