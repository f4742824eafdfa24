-- Relays chat lines to partners on other instances, one inbox entry per
-- instance, in order. Through `tell`: only to live instances, and an inbox
-- nobody reads expires, so relayed text never stays in Redis.
-- ARGV: prefix, then an instance and its lines, repeated.
for i = 2, #ARGV, 2 do
  tell(ARGV[i], 'kind', 'relays', 'lines', ARGV[i + 1])
end
return 0
