-- The bans in force, for an instance that may have missed some being told
-- (it just started, or Redis had forgotten it), and for the operator's console.
-- Ended ones are dropped.
-- ARGV: prefix. Returns {address key, ms left, ends (ms), origin:since, ...}.
local now = now_ms()
for _, ended in ipairs(redis.call('ZRANGEBYSCORE', p .. 'bans', '-inf', now)) do
  redis.call('HDEL', p .. 'ban_info', ended)
end
redis.call('ZREMRANGEBYSCORE', p .. 'bans', '-inf', now)
local found = redis.call('ZRANGE', p .. 'bans', 0, -1, 'WITHSCORES')
local left = {}
for i = 1, #found, 2 do
  local ends = tonumber(found[i + 1])
  left[#left + 1] = found[i]
  left[#left + 1] = ms_text(ends - now)
  left[#left + 1] = ms_text(ends)
  left[#left + 1] = redis.call('HGET', p .. 'ban_info', found[i]) or ('reports:' .. ms_text(now))
end
return left
