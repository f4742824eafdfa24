-- Files a report for the operator and counts it against a network across
-- every instance; once enough different networks have reported it within the
-- window, bans it. The ban is kept in `bans` and told to every live instance
-- through its inbox (the reporter's own included), so each disconnects that
-- network's strangers and turns it away: one path for every instance.
--
-- A report counts only if the instance says it may (the chat lasted long
-- enough, or the reported stranger sent something) and the reporter's network
-- has not used its reports for the day; one that does not is still filed, marked
-- uncounted. A network banned before (within the offence memory) is banned for
-- longer each time, up to a cap.
-- ARGV: prefix, reporter's network key, reported network key,
--       reports to ban, window (ms), first ban (ms),
--       report id, report (JSON, starting {"counted":true), when it was made (ms),
--       how long it is kept (ms), whether it may count (1/0), reports a network
--       may count a day (0: all), ban growth factor, longest ban (ms),
--       offence memory (ms).
-- Returns the ban's length in ms, or 0 when the report is only filed or noted.
local reporter, reported = ARGV[2], ARGV[3]
local needed, window, first_ban = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local id, record, made, keep = ARGV[7], ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10])
local may_count, per_day = ARGV[11] == '1', tonumber(ARGV[12])
local growth, longest, memory = tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15])
local now = now_ms()

local counts = may_count
if counts and per_day > 0 then
  local today = p .. 'reported_today:' .. reporter
  local used = redis.call('INCR', today)
  if used == 1 then redis.call('PEXPIRE', today, DAY_MS) end
  if used > per_day then counts = false end
end
if not counts then
  record = string.gsub(record, '^{"counted":true', '{"counted":false', 1)
end

redis.call('SET', p .. 'report:' .. id, record, 'PX', keep)
redis.call('ZADD', p .. 'reports', made, id)
redis.call('ZREMRANGEBYSCORE', p .. 'reports', '-inf', made - keep)
redis.call('PEXPIRE', p .. 'reports', keep)
if not counts then return 0 end

local key = p .. 'reports:' .. reported
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
-- One network counts once, however often it reports: its latest report is kept.
redis.call('ZADD', key, now, reporter)
redis.call('PEXPIRE', key, window)
if redis.call('ZCARD', key) < math.max(needed, 1) then return 0 end

local offences = p .. 'offences:' .. reported
local previous = redis.call('INCR', offences) - 1
redis.call('PEXPIRE', offences, math.max(memory, 1))
local ban = first_ban
for _ = 1, previous do
  ban = ban * math.max(growth, 1)
  if ban >= longest then break end
end
ban = math.max(math.min(ban, longest), first_ban)
ban_until(reported, now + ban, 'reports', now)
return ban
