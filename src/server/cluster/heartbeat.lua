-- Keeps an instance alive for another while, if Redis runs this by its
-- deadline: a heartbeat that waited in a frozen Redis, run when it wakes, must
-- not bring back an instance the others have counted dead (the instance would
-- never learn it had been forgotten).
-- An instance Redis did not know (it restarted empty, or counted the instance
-- dead), or one that starts over (it was cut off and told its waiters that
-- matching paused), has no waiters in the queue any more: their tickets are
-- taken out here, so nobody elsewhere is paired with a stranger who is not
-- waiting, and the instance queues again those still waiting.
-- ARGV: prefix, instance, alive for (ms), deadline (ms, Redis's clock),
--       start over ("1"/"0").
-- Returns {"late" | "known" | "forgotten", Redis's seconds, microseconds}.
local instance, alive_for, deadline = ARGV[2], ARGV[3], tonumber(ARGV[4])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if now > deadline then return {'late', time[1], time[2]} end

local alive = p .. 'alive:' .. instance
local known = redis.call('EXISTS', alive) == 1
if not known or ARGV[5] == '1' then
  for _, ticket in ipairs(redis.call('SMEMBERS', p .. 'waiters_of:' .. instance)) do
    remove(ticket)
  end
  redis.call('DEL', p .. 'waiters_of:' .. instance)
end
redis.call('SET', alive, '1', 'PX', alive_for)
redis.call('SADD', p .. 'instances', instance)
redis.call('PEXPIRE', p .. 'instances', QUEUE_KEEP_MS)
return {known and 'known' or 'forgotten', time[1], time[2]}
