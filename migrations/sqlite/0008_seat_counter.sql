-- Seats used per subscription, kept in the subscription's row by triggers, so a seat grant
-- reads one number instead of counting the subscription's seat_assignments (a scan that grew
-- with every seat given: activations slowed as the organisation grew). Every insert and
-- delete of a seat, whatever its path (grant, revocation, freeing, a cascaded user or
-- subscription delete), moves the counter in the same transaction.
ALTER TABLE license_keys ADD COLUMN seats_used BIGINT NOT NULL DEFAULT 0;
UPDATE license_keys SET seats_used =
    (SELECT count(*) FROM seat_assignments s WHERE s.license_key_id = license_keys.id);

CREATE TRIGGER seat_assignments_counted_insert AFTER INSERT ON seat_assignments
BEGIN
    UPDATE license_keys SET seats_used = seats_used + 1 WHERE id = NEW.license_key_id;
END;

CREATE TRIGGER seat_assignments_counted_delete AFTER DELETE ON seat_assignments
BEGIN
    UPDATE license_keys SET seats_used = seats_used - 1 WHERE id = OLD.license_key_id;
END;

CREATE TRIGGER seat_assignments_counted_move AFTER UPDATE OF license_key_id ON seat_assignments
BEGIN
    UPDATE license_keys SET seats_used = seats_used - 1 WHERE id = OLD.license_key_id;
    UPDATE license_keys SET seats_used = seats_used + 1 WHERE id = NEW.license_key_id;
END;
