"""The alert evaluation's Lua scripts (registered with the worker's others,
``worker_enricher/scripts.py``)."""

# KEYS: the state hash, the outbox. ARGV: the generation read ("" for none), the number n
# of state fields written, n field-value pairs, the outbox's length bound, then two values
# per trigger (its JSON, "1" if it has a webhook). Returns {0} when the state moved since
# it was read (nothing written), else {1, the outbox ids…}.
ALERT_CAS = """
local gen = redis.call('HGET', KEYS[1], 'gen')
if (gen or '') ~= ARGV[1] then return {0} end
local n = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'gen', tostring((tonumber(gen) or 0) + 1), unpack(ARGV, 3, 2 + 2 * n))
local out = {1}
for i = 4 + 2 * n, #ARGV, 2 do
  out[#out + 1] = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3 + 2 * n], '*',
                             'trigger', ARGV[i], 'webhook', ARGV[i + 1])
end
return out
"""

# KEYS: the state hash. ARGV: the generation this worker wrote last ("" for none), then the
# fields. Returns {gen} when the state is still that generation (the worker holds it), else
# {gen or false, the fields' values…}: a worker evaluating a product alone reads a few bytes.
ALERT_READ = """
local gen = redis.call('HGET', KEYS[1], 'gen')
if gen and gen == ARGV[1] then return {gen} end
local out = redis.call('HMGET', KEYS[1], unpack(ARGV, 2))
table.insert(out, 1, gen)
return out
"""
