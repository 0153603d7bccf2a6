-- A share exists only while its member belongs to the group: leaving the group, being
-- removed, or the group's deletion withdraws every share with it, in the same
-- transaction, by the database itself rather than by each code path remembering to.
DELETE FROM metric_shares s
 WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = s.group_id AND m.user_id = s.user_id);

ALTER TABLE metric_shares
    ADD CONSTRAINT metric_shares_membership
    FOREIGN KEY (group_id, user_id) REFERENCES memberships (group_id, user_id) ON DELETE CASCADE;
