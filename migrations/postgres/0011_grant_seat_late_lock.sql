-- A seat grant that holds the subscription's row lock only for its last step.
--
-- seatgate_grant_seat (0008, 0009) locks every subscription of the account first and keeps
-- the locks through all its reads and writes and through its commit, so one account's grants
-- ran strictly one after another, each for the whole of its work plus a log flush.
--
-- seatgate_grant, for a person who holds no seat yet (their first device: the common case),
-- decides in its snapshot without those locks, writes the person's rows and the activation,
-- and inserts the seat last. The seat counter's trigger (0009) then takes the subscription's
-- row lock, and the grant checks the count under it. If others took the last seats meanwhile
-- (or the subscription ended), it raises SQLSTATE SG001: the statement's transaction is undone
-- and the caller runs it again with p_fast = false, which is seatgate_grant_seat's locking
-- path. A person who holds a seat (another device, a re-activation), and every case the
-- snapshot cannot settle, go straight to that path.
--
-- Both paths first take a transaction advisory lock on the person (their address when seen
-- for the first time, else their id), so two of their devices never decide at once: they can
-- never take seats on two subscriptions, nor pass the device limit together. Lock order
-- stays acyclic: the person, then subscriptions (the fast path one, the locking path all, in
-- id order, as revocations do).
CREATE FUNCTION seatgate_grant(
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
    p_fast BOOLEAN,
    OUT outcome TEXT,
    OUT license_key_id TEXT,
    OUT expires_at BIGINT,
    OUT seat_was_held BOOLEAN
) LANGUAGE plpgsql AS $$
DECLARE
    k RECORD;
    chosen_id TEXT;
    settled BOOLEAN := false;
    used_now BIGINT;
    seats_now BIGINT;
    expires_now BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(
        hashtextextended('seatgate.grant:' || coalesce(p_email_lc, p_user_id), 0));
    IF p_fast AND p_device_limit > 0 THEN
        settled := true;
        -- oldest live subscription first, as the locking path chooses
        FOR k IN
            SELECT lk.id, lk.seats, lk.expires_at, lk.seats_used AS used,
                EXISTS (SELECT 1 FROM seat_assignments s
                    WHERE s.license_key_id = lk.id AND s.user_id = p_user_id) AS holds,
                EXISTS (SELECT 1 FROM activations a WHERE a.license_key_id = lk.id
                    AND a.user_id = p_user_id AND a.revoked_at IS NULL) AS active
            FROM license_keys lk
            WHERE lk.business_id = p_business_id AND lk.product = p_product
            ORDER BY lk.registered_at, lk.id
        LOOP
            CONTINUE WHEN k.expires_at IS NOT NULL AND k.expires_at <= p_now;
            IF k.holds OR k.active THEN
                -- the person holds a seat: the locking path keeps it for them
                settled := false;
                EXIT;
            END IF;
            IF chosen_id IS NULL AND k.used < k.seats THEN
                chosen_id := k.id;
            END IF;
        END LOOP;
        IF settled AND chosen_id IS NOT NULL THEN
            IF p_email IS NOT NULL THEN
                INSERT INTO users (id, email, email_lc, password_hash, email_verified_at,
                    created_at, last_sign_in_at)
                    VALUES (p_user_id, p_email, p_email_lc, '!sso', p_now, p_now, NULL);
                INSERT INTO memberships (business_id, user_id, role, status, created_at,
                    idp_object_id)
                    VALUES (p_business_id, p_user_id, 'user', 'active', p_now, p_object_id);
            END IF;
            INSERT INTO activations (id, business_id, license_key_id, user_id, device_id,
                device_name, device_os, secret_hash, created_at, last_check_at)
                VALUES (p_activation_id, p_business_id, chosen_id, p_user_id, p_device_id,
                    p_device_name, p_device_os, p_secret_hash, p_now, p_now);
            -- last: the seat; the counter's trigger takes the subscription's row lock, held
            -- until commit, and the count read below is then final
            INSERT INTO seat_assignments (license_key_id, user_id, assigned_at)
                VALUES (chosen_id, p_user_id, p_now);
            SELECT lk.seats_used, lk.seats, lk.expires_at INTO used_now, seats_now, expires_now
                FROM license_keys lk WHERE lk.id = chosen_id;
            IF used_now > seats_now OR (expires_now IS NOT NULL AND expires_now <= p_now) THEN
                RAISE EXCEPTION 'subscription % changed during the grant', chosen_id
                    USING ERRCODE = 'SG001';
            END IF;
            outcome := 'granted';
            license_key_id := chosen_id;
            expires_at := expires_now;
            seat_was_held := false;
            RETURN;
        END IF;
    END IF;
    -- no room seen, no live subscription, a seat already held, a device limit of 0: the
    -- locking path decides (and says why not)
    SELECT g.outcome, g.license_key_id, g.expires_at, g.seat_was_held
        INTO outcome, license_key_id, expires_at, seat_was_held
        FROM seatgate_grant_seat(p_business_id, p_product, p_user_id, p_device_id,
            p_device_name, p_device_os, p_activation_id, p_secret_hash, p_device_limit, p_now,
            p_email, p_email_lc, p_object_id) g;
END;
$$;
