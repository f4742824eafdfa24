-- This instance is shutting down: its waiters leave the queue, so nobody
-- elsewhere is paired with them, and it stops counting as alive, so nothing
-- more is written to its inbox, which is deleted with what it held.
-- ARGV: prefix, instance. Returns how many waiters it took out.
local instance = ARGV[2]
local taken = 0
for _, ticket in ipairs(redis.call('SMEMBERS', p .. 'waiters_of:' .. instance)) do
  if remove(ticket) then taken = taken + 1 end
end
redis.call('DEL', p .. 'waiters_of:' .. instance, p .. 'inbox:' .. instance,
  p .. 'alive:' .. instance)
redis.call('HDEL', p .. 'online', instance)
redis.call('SREM', p .. 'instances', instance)
return taken
