-- name: DeleteOldPullProgress :execrows
-- Pull progress of allocations that ended long ago: a pull writes a row
-- every few seconds, and once it is over only its last row and `pulled`
-- say anything. Kept: every other event, for the allocation's life.
DELETE FROM allocation_events e
USING allocations a
WHERE e.allocation_id = a.id
  AND e.kind = 'pulling'
  AND a.status IN ('released', 'failed')
  AND a.updated_at < now() - @keep::interval
  AND e.id < (SELECT max(l.id) FROM allocation_events l WHERE l.allocation_id = e.allocation_id AND l.kind = 'pulling');
