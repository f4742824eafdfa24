-- An operator lifts a ban: gone from `bans`, and every live instance is told
-- through its inbox to let the network in again.
-- ARGV: prefix, address key. Returns 1 if it was banned, else 0.
local address = ARGV[2]
redis.call('HDEL', p .. 'ban_info', address)
local was = redis.call('ZREM', p .. 'bans', address)
for _, instance in ipairs(redis.call('SMEMBERS', p .. 'instances')) do
  tell(instance, 'kind', 'unbanned', 'address', address)
end
return was
