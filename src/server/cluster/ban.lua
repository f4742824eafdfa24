-- An operator bans a network from the console: kept in `bans` (with its
-- origin) and told to every live instance through its inbox.
-- ARGV: prefix, address key, ban (ms; the largest score for a ban for good).
-- Returns the ban's end (ms since 1970).
local address, ms = ARGV[2], tonumber(ARGV[3])
local now = now_ms()
local until_ms = math.min(now + ms, 9007199254740991)
ban_until(address, until_ms, 'operator', now)
return ms_text(until_ms)
