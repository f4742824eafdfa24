-- Shared by every matchmaking script; each script is this file followed by its
-- own body, run atomically by Redis (one script at a time), so no two instances
-- can take the same waiter. The rules are those of the in-memory Matchmaker
-- (src/server/matchmaker.rs): oldest suitable waiter first, shared interests,
-- never yourself or your own browser, recent partners only as a last resort,
-- modes apart.
--
-- Keys, all under the prefix ARGV[1]:
--   next_ticket                       counter; tickets sort by arrival
--   waiter:<ticket>                   hash: id instance browser mode since interests only_shared
--                                     address (the network's key, for reports)
--   ticket_of                         hash: stranger id -> ticket
--   open:<mode>                       zset of tickets accepting anyone
--   interest:<mode>:<interest>        zset of tickets listing that interest
--   deadlines                         zset of tickets by when they open up to anyone (ms)
--   waiters_of:<instance>             set of an instance's tickets (to sweep a dead one)
--   recent:<id>                       list of recent partners, newest last
--   alive:<instance>                  exists while the instance is alive (expires)
--   inbox:<instance>                  stream of events for the instance's strangers
--                                     (expires INBOX_KEEP_MS after the last write)
--   instances                         set of instances (alive or not yet swept)
--   online                            hash: instance -> strangers connected to it
--   reports:<address>                 zset of reporting addresses by when (ms)
--   bans                              zset of banned addresses by when the ban ends (ms)
--   ban_info                          hash: banned address -> "<origin>:<since ms>"
--                                     (origin: reports or operator)
--   report:<id>                       a report for the operator (JSON), expires after
--                                     the retention time
--   reports                           zset of report ids by when they were made (ms)
--   reported_today:<address>          how many reports a network made today (expires)
--   offences:<address>                how many times a network was banned by reports,
--                                     forgotten after the offence memory
--   audit                             list of operator actions (JSON), newest first
--   address_secret                    the key every instance hashes addresses with
--
-- The constants both matchmakers share (MAX_SKIPPED, RECENT_PARTNERS) and
-- DAY_MS, INBOX_KEEP_MS and QUEUE_KEEP_MS come first, written by Rust from its
-- own (src/server/cluster/queue.rs).
--
-- Every key expires except address_secret (configuration), bans and ban_info
-- (bans the operator must keep) and audit (the operator's own actions, capped
-- in length): the queue's keys QUEUE_KEEP_MS after their last write, inboxes
-- INBOX_KEEP_MS, the rest as noted.
local p = ARGV[1]

-- Redis's clock, not the instances': they may disagree.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Takes a waiter out of every index; returns its fields, or nil if gone.
local function remove(ticket)
  local w = redis.call('HGETALL', p .. 'waiter:' .. ticket)
  local f = {}
  for i = 1, #w, 2 do f[w[i]] = w[i + 1] end
  if f.id == nil then return nil end
  redis.call('DEL', p .. 'waiter:' .. ticket)
  redis.call('HDEL', p .. 'ticket_of', f.id)
  redis.call('ZREM', p .. 'open:' .. f.mode, ticket)
  redis.call('ZREM', p .. 'deadlines', ticket)
  redis.call('SREM', p .. 'waiters_of:' .. f.instance, ticket)
  for interest in string.gmatch(f.interests, '[^\n]+') do
    redis.call('ZREM', p .. 'interest:' .. f.mode .. ':' .. interest, ticket)
  end
  return f
end

local function recent_of(id)
  local set = {}
  for _, other in ipairs(redis.call('LRANGE', p .. 'recent:' .. id, 0, -1)) do
    set[other] = true
  end
  return set
end

-- The oldest suitable ticket in a sorted set for `seeker` ({id, browser,
-- recent}), and the oldest recent partner as a last resort. Waiters whose
-- instance has died are dropped on the way.
local function candidates(key, seeker)
  local fresh, stale
  for _, ticket in ipairs(redis.call('ZRANGE', key, 0, MAX_SKIPPED)) do
    local other = redis.call('HMGET', p .. 'waiter:' .. ticket, 'id', 'browser', 'instance')
    if not other[1] then
      -- Its place expired (QUEUE_KEEP_MS): only the ticket was left.
      redis.call('ZREM', key, ticket)
    elseif redis.call('EXISTS', p .. 'alive:' .. other[3]) == 0 then
      remove(ticket)
    elseif other[1] and other[1] ~= seeker.id
        and not (seeker.browser ~= '' and other[2] == seeker.browser) then
      if seeker.recent[other[1]] then
        stale = stale or ticket
      else
        fresh = ticket
        break
      end
    end
  end
  return fresh, stale
end

local function older(a, b)
  if a == nil then return b end
  if b == nil then return a end
  if tonumber(a) < tonumber(b) then return a end
  return b
end

-- The interests both listed, in the joiner's order.
local function common(mine, theirs)
  local listed = {}
  for interest in string.gmatch(theirs, '[^\n]+') do listed[interest] = true end
  local shared = {}
  for _, interest in ipairs(mine) do
    if listed[interest] then shared[#shared + 1] = interest end
  end
  return shared
end

local function remember(a, b)
  for _, pair in ipairs({{a, b}, {b, a}}) do
    local key = p .. 'recent:' .. pair[1]
    redis.call('RPUSH', key, pair[2])
    redis.call('LTRIM', key, -RECENT_PARTNERS, -1)
    redis.call('PEXPIRE', key, 3600000)
  end
end

-- Writes an event (`...`: its fields) to `instance`'s inbox, if the instance
-- is alive: a dead one's inbox, deleted by the sweep in tick.lua, is never
-- recreated by a late writer. An inbox nobody writes to expires after
-- INBOX_KEEP_MS, so what it holds (relayed chat text among it) never outlives
-- that bound even if its reader died; a live reader trims what it has read.
-- Returns whether the instance was alive.
local function tell(instance, ...)
  if redis.call('EXISTS', p .. 'alive:' .. instance) == 0 then return false end
  local key = p .. 'inbox:' .. instance
  redis.call('XADD', key, '*', ...)
  redis.call('PEXPIRE', key, INBOX_KEEP_MS)
  return true
end

-- Tells `to` (on `instance`) it was paired with `partner` (on `partner_instance`,
-- from the network `partner_address`, for a report). `offers`: whether `to`
-- starts the video call (the one who joined last does).
local function tell_paired(instance, to, partner, partner_instance, partner_address,
    mode, waited, shared, offers)
  tell(instance,
    'kind', 'paired', 'to', to, 'partner', partner, 'partner_instance', partner_instance,
    'partner_address', partner_address or '', 'mode', mode, 'waited', tostring(waited),
    'common', table.concat(shared, '\n'), 'offers', offers and '1' or '0')
end

-- A number of milliseconds as Redis and the instances read it back: digits
-- only (tostring would write large ones in exponent form).
local function ms_text(ms)
  return string.format('%.0f', ms)
end

-- Tells every live instance, through its inbox, that `address` is banned for
-- `ms` more, so each disconnects that network's strangers and turns it away.
local function tell_banned(address, ms)
  for _, instance in ipairs(redis.call('SMEMBERS', p .. 'instances')) do
    tell(instance, 'kind', 'banned', 'address', address, 'ms', ms_text(ms))
  end
end

-- Bans `address` until `until_ms`, decided by `origin` at `now`.
local function ban_until(address, until_ms, origin, now)
  redis.call('DEL', p .. 'reports:' .. address)
  redis.call('ZADD', p .. 'bans', until_ms, address)
  redis.call('HSET', p .. 'ban_info', address, origin .. ':' .. ms_text(now))
  tell_banned(address, until_ms - now)
end
