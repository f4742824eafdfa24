-- Opens up the waiters whose interest timeout has passed, pairing each with the
-- oldest open waiter of its mode if there is one (both told through their
-- instances' inboxes); and drops the waiters of instances that have died.
-- ARGV: prefix. Returns how many pairings it made.
local now = now_ms()
local made = 0

for _, instance in ipairs(redis.call('SMEMBERS', p .. 'instances')) do
  if redis.call('EXISTS', p .. 'alive:' .. instance) == 0 then
    for _, ticket in ipairs(redis.call('SMEMBERS', p .. 'waiters_of:' .. instance)) do
      remove(ticket)
    end
    redis.call('DEL', p .. 'waiters_of:' .. instance, p .. 'inbox:' .. instance)
    redis.call('HDEL', p .. 'online', instance)
    redis.call('SREM', p .. 'instances', instance)
  end
end

for _, ticket in ipairs(redis.call('ZRANGEBYSCORE', p .. 'deadlines', '-inf', now, 'LIMIT', 0, 1000)) do
  redis.call('ZREM', p .. 'deadlines', ticket)
  local w = redis.call('HMGET', p .. 'waiter:' .. ticket,
    'id', 'browser', 'mode', 'since', 'instance', 'address')
  if w[1] then
    local seeker = {id = w[1], browser = w[2], recent = recent_of(w[1])}
    local fresh, stale = candidates(p .. 'open:' .. w[3], seeker)
    local partner = fresh or stale
    if partner then
      remove(ticket)
      local other = remove(partner)
      remember(w[1], other.id)
      tell_paired(other.instance, other.id, w[1], w[5], w[6], w[3],
        now - tonumber(other.since), {}, false)
      tell_paired(w[5], w[1], other.id, other.instance, other.address, w[3],
        now - tonumber(w[4]), {}, true)
      made = made + 1
    else
      redis.call('ZADD', p .. 'open:' .. w[3], ticket, ticket)
      redis.call('PEXPIRE', p .. 'open:' .. w[3], QUEUE_KEEP_MS)
    end
  end
end
return made
