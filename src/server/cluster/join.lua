-- Asks for a stranger across every instance.
-- ARGV: prefix, stranger id, instance, browser ("" for none), mode,
--       only_shared ("1"/"0"), interest timeout (ms), address key ("" for none),
--       deadline (ms, Redis's clock), interests...
-- Returns {"late"} or {"forgotten"} (see below), {"waiting"} or
-- {"paired", waiter id, waiter instance, waited ms, waiter address, common...}:
-- the joiner's own instance reads the reply; the waiter's hears of it through
-- its inbox stream, written in the same atomic step.
local id, inst, browser, mode = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local only_shared = ARGV[6] == '1'
local now, timeout, address = now_ms(), tonumber(ARGV[7]), ARGV[8]
local deadline = tonumber(ARGV[9])
local interests = {}
for i = 10, #ARGV do interests[#interests + 1] = ARGV[i] end

-- Sent long ago (Redis was frozen, say): the stranger has been told matching
-- paused, and must not be queued behind their back.
if now > deadline then return {'late'} end

-- An instance Redis does not know (it restarted empty, or counted the instance
-- dead) must first come back and end what it held: it is told so.
if redis.call('EXISTS', p .. 'alive:' .. inst) == 0 then return {'forgotten'} end

-- Joining while queued keeps the original place and request (unless the
-- place expired: see QUEUE_KEEP_MS).
local queued = redis.call('HGET', p .. 'ticket_of', id)
if queued then
  if redis.call('EXISTS', p .. 'waiter:' .. queued) == 1 then return {'waiting'} end
  redis.call('HDEL', p .. 'ticket_of', id)
end

local seeker = {id = id, browser = browser, recent = recent_of(id)}
local fresh, stale
if #interests == 0 then
  fresh, stale = candidates(p .. 'open:' .. mode, seeker)
else
  for _, interest in ipairs(interests) do
    local f, s = candidates(p .. 'interest:' .. mode .. ':' .. interest, seeker)
    fresh, stale = older(fresh, f), older(stale, s)
  end
end
local partner = fresh or stale

if partner then
  local w = remove(partner)
  local shared = common(interests, w.interests)
  remember(id, w.id)
  local waited = now - tonumber(w.since)
  -- A waiter on the joiner's own instance is seated from this reply alone.
  if w.instance ~= inst then
    tell_paired(w.instance, w.id, id, inst, address, mode, waited, shared, false)
  end
  local reply = {'paired', w.id, w.instance, tostring(waited), w.address or ''}
  for _, interest in ipairs(shared) do reply[#reply + 1] = interest end
  return reply
end

-- Every key below expires QUEUE_KEEP_MS after its last write, so nothing of
-- a waiter outlives that bound even if every instance died; the ticket
-- counter a little later, so tickets never restart while a waiter holds one.
local ticket = redis.call('INCR', p .. 'next_ticket')
redis.call('PEXPIRE', p .. 'next_ticket', QUEUE_KEEP_MS + 60000)
local waiter = p .. 'waiter:' .. ticket
redis.call('HSET', waiter, 'id', id, 'instance', inst, 'browser', browser,
  'mode', mode, 'since', now, 'interests', table.concat(interests, '\n'),
  'only_shared', only_shared and '1' or '0', 'address', address)
local touched = {waiter, p .. 'ticket_of', p .. 'waiters_of:' .. inst}
redis.call('HSET', p .. 'ticket_of', id, ticket)
redis.call('SADD', p .. 'waiters_of:' .. inst, ticket)
if #interests == 0 then
  redis.call('ZADD', p .. 'open:' .. mode, ticket, ticket)
  touched[#touched + 1] = p .. 'open:' .. mode
else
  if not only_shared then
    redis.call('ZADD', p .. 'deadlines', now + timeout, ticket)
    touched[#touched + 1] = p .. 'deadlines'
  end
  for _, interest in ipairs(interests) do
    local key = p .. 'interest:' .. mode .. ':' .. interest
    redis.call('ZADD', key, ticket, ticket)
    touched[#touched + 1] = key
  end
end
for _, key in ipairs(touched) do redis.call('PEXPIRE', key, QUEUE_KEEP_MS) end
return {'waiting'}
