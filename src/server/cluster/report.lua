-- Files a report for the operator and counts it against a network across
-- every instance; once enough different networks have reported it within the
-- window, bans it. The ban is kept in `bans` and told to every live instance
-- through its inbox (the reporter's own included), so each disconnects that
-- network's strangers and turns it away: one path for every instance.
-- ARGV: prefix, reporter's address key, reported address key,
--       reports to ban, window (ms), ban (ms),
--       report id, report (JSON), when it was made (ms), how long it is kept (ms).
-- Returns the ban's length in ms, or 0 when the report is only noted.
local reporter, reported = ARGV[2], ARGV[3]
local needed, window, ban = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local id, record, made, keep = ARGV[7], ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10])
local now = now_ms()

redis.call('SET', p .. 'report:' .. id, record, 'PX', keep)
redis.call('ZADD', p .. 'reports', made, id)
redis.call('ZREMRANGEBYSCORE', p .. 'reports', '-inf', made - keep)

local key = p .. 'reports:' .. reported
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
-- One network counts once, however often it reports: its latest report is kept.
redis.call('ZADD', key, now, reporter)
redis.call('PEXPIRE', key, window)
if redis.call('ZCARD', key) < math.max(needed, 1) then return 0 end

ban_until(reported, now + ban, 'reports', now)
return ban
