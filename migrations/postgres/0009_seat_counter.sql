-- Seats used per subscription, kept in the subscription's row by a trigger, so a seat grant
-- reads one number instead of counting the subscription's seat_assignments (a scan that grew
-- with every seat given: activations slowed as the organisation grew). Every insert and
-- delete of a seat, whatever its path (grant, revocation, freeing, a cascaded user or
-- subscription delete), moves the counter in the same transaction, under the subscription's
-- row lock.
ALTER TABLE license_keys ADD COLUMN seats_used BIGINT NOT NULL DEFAULT 0;
UPDATE license_keys SET seats_used =
    (SELECT count(*) FROM seat_assignments s WHERE s.license_key_id = license_keys.id);

CREATE FUNCTION seatgate_count_seats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE license_keys SET seats_used = seats_used - 1 WHERE id = OLD.license_key_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE license_keys SET seats_used = seats_used + 1 WHERE id = NEW.license_key_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER seat_assignments_counted
    AFTER INSERT OR DELETE OR UPDATE OF license_key_id ON seat_assignments
    FOR EACH ROW EXECUTE FUNCTION seatgate_count_seats();

-- seatgate_grant_seat (0008), reading the counter
CREATE OR REPLACE FUNCTION seatgate_grant_seat(
    p_business_id TEXT,
    p_product TEXT,
    p_user_id TEXT,
    p_device_id TEXT,
    p_device_name TEXT,
    p_device_os TEXT,
    p_activation_id TEXT,
    p_secret_hash TEXT,
    p_device_limit BIGINT,
    p_now BIGINT,
    p_email TEXT,
    p_email_lc TEXT,
    p_object_id TEXT,
    OUT outcome TEXT,
    OUT license_key_id TEXT,
    OUT expires_at BIGINT,
    OUT seat_was_held BOOLEAN
) LANGUAGE plpgsql AS $$
DECLARE
    k RECORD;
    chosen RECORD;
    any_key BOOLEAN := false;
    any_live BOOLEAN := false;
BEGIN
    -- the account's subscriptions of this product, locked in id order (as revocations lock them)
    PERFORM 1 FROM license_keys lk
        WHERE lk.business_id = p_business_id AND lk.product = p_product
        ORDER BY lk.id FOR UPDATE;
    -- per subscription, oldest first: seats used, whether this person holds one, their other
    -- active devices, and whether this device is active (to be replaced)
    FOR k IN
        SELECT lk.id, lk.seats, lk.expires_at,
            lk.seats_used AS used,
            (SELECT count(*) FROM seat_assignments s
                WHERE s.license_key_id = lk.id AND s.user_id = p_user_id) AS holds,
            (SELECT count(*) FROM activations a WHERE a.license_key_id = lk.id
                AND a.user_id = p_user_id AND a.revoked_at IS NULL
                AND a.device_id <> p_device_id) AS others,
            (SELECT count(*) FROM activations a WHERE a.license_key_id = lk.id
                AND a.user_id = p_user_id AND a.revoked_at IS NULL
                AND a.device_id = p_device_id) AS same_device
        FROM license_keys lk
        WHERE lk.business_id = p_business_id AND lk.product = p_product
        ORDER BY lk.registered_at, lk.id
    LOOP
        any_key := true;
        CONTINUE WHEN k.expires_at IS NOT NULL AND k.expires_at <= p_now;
        any_live := true;
        -- the subscription where the person holds a seat comes first; else the first with room
        IF k.holds > 0 THEN
            chosen := k;
            seat_was_held := true;
            EXIT;
        END IF;
        IF k.used < k.seats AND seat_was_held IS NULL THEN
            chosen := k;
            seat_was_held := false;
        END IF;
    END LOOP;
    IF NOT any_key THEN
        outcome := 'no_subscription';
        RETURN;
    END IF;
    IF NOT any_live THEN
        outcome := 'expired';
        RETURN;
    END IF;
    IF seat_was_held IS NULL THEN
        outcome := 'no_seats';
        RETURN;
    END IF;
    IF chosen.others >= p_device_limit THEN
        outcome := 'device_limit';
        seat_was_held := NULL;
        RETURN;
    END IF;
    IF p_email IS NOT NULL THEN
        INSERT INTO users (id, email, email_lc, password_hash, email_verified_at, created_at,
            last_sign_in_at)
            VALUES (p_user_id, p_email, p_email_lc, '!sso', p_now, p_now, NULL);
        INSERT INTO memberships (business_id, user_id, role, status, created_at, idp_object_id)
            VALUES (p_business_id, p_user_id, 'user', 'active', p_now, p_object_id);
    END IF;
    IF NOT seat_was_held THEN
        INSERT INTO seat_assignments (license_key_id, user_id, assigned_at)
            VALUES (chosen.id, p_user_id, p_now);
    END IF;
    IF chosen.same_device > 0 THEN
        UPDATE activations SET revoked_at = p_now, revoked_reason = 'replaced'
            WHERE activations.license_key_id = chosen.id AND user_id = p_user_id
            AND device_id = p_device_id AND revoked_at IS NULL;
    END IF;
    INSERT INTO activations (id, business_id, license_key_id, user_id, device_id, device_name,
        device_os, secret_hash, created_at, last_check_at)
        VALUES (p_activation_id, p_business_id, chosen.id, p_user_id, p_device_id, p_device_name,
            p_device_os, p_secret_hash, p_now, p_now);
    outcome := 'granted';
    license_key_id := chosen.id;
    expires_at := chosen.expires_at;
END;
$$;
