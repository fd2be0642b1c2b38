-- probe(ttl): replies 'ok'. A coordinator calls it once, when it starts,
-- to learn whether it may run the steps as functions.
return 'ok'
