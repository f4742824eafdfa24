-- Relays chat lines to partners on other instances, one inbox entry per
-- instance, in order. Through `tell`: only to live instances, and an inbox
-- nobody reads expires, so relayed text never stays in Redis.
-- ARGV: prefix, then an instance and its lines, repeated.
-- Returns the instances that are not alive: their lines reached nobody, and
-- the chats with their strangers are over.
local gone = {}
for i = 2, #ARGV, 2 do
  if not tell(ARGV[i], 'kind', 'relays', 'lines', ARGV[i + 1]) then
    gone[#gone + 1] = ARGV[i]
  end
end
return gone
