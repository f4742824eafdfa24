-- Takes a stranger out of the queue, if waiting. ARGV: prefix, stranger id.
-- Returns 1 if they were waiting.
local ticket = redis.call('HGET', p .. 'ticket_of', ARGV[2])
if ticket and remove(ticket) then return 1 end
return 0
