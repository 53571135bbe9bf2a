-- Seats counted in stripes, so one subscription's grants stop queuing on one row.
--
-- Until now every first seat moved the subscription's `seats_used` (0009), so each grant held
-- that one row's lock until its commit was flushed to disk, and one account's grants followed
-- one another at the pace of log flushes. Here a subscription's seats are split over 16
-- stripes (`seat_stripes`): stripe s may hold `cap` seats, and the caps always sum to the
-- subscription's seats. A seat is counted in the stripe it was taken from
-- (`seat_assignments.stripe`), and triggers keep each stripe's `used` with every insert and
-- delete of a seat, whatever its path (grant, revocation, freeing, a cascaded user or
-- subscription delete).
--
-- The rule that keeps the seats given within the seats sold: a stripe takes a seat only while
-- used < cap (the insert trigger checks it under the stripe's row lock and refuses the insert
-- otherwise, SQLSTATE SG001), and while any stripe has room, no stripe holds more than its
-- cap. Then the seats given are at most the sum of the caps, the seats. Only lowering the
-- seats below those given puts stripes over their caps (the over-seats are then owed by the
-- stripes, none has room); a seat freed where that opens room while another stripe is over
-- its cap moves that cap unit to the stripe over it, so no seat is given until enough are
-- freed.
--
-- seatgate_grant's first-seat path now takes a stripe with room with FOR UPDATE SKIP LOCKED:
-- up to 16 grants of one subscription hold different stripes through their commits at once,
-- and their flushes are shared. When every stripe with room is held by grants in flight, it
-- goes to the locking path, which waits for a stripe with room, so it never refuses a seat
-- that a grant in flight may yet give back.
--
-- The locks on license_keys become FOR NO KEY UPDATE: the subscription's row is not changed
-- by grants any more, and the foreign-key checks of a grant's inserts (FOR KEY SHARE on the
-- subscription) must not wait for a revocation or a locking grant.

CREATE TABLE seat_stripes (
    license_key_id TEXT NOT NULL REFERENCES license_keys(id) ON DELETE CASCADE,
    stripe         INT NOT NULL,
    cap            BIGINT NOT NULL DEFAULT 0,
    used           BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (license_key_id, stripe)
);

-- the counter of 0009 goes; the stripes replace it
DROP TRIGGER seat_assignments_counted ON seat_assignments;
DROP FUNCTION seatgate_count_seats();
ALTER TABLE license_keys DROP COLUMN seats_used;

-- Sizes a subscription's stripes to its seats, under all 16 stripes' locks. With no more
-- seats given than sold, each stripe keeps its seats and gets an even share of the rest;
-- with more, no stripe gets room and the over-seats are owed by the first stripes.
CREATE FUNCTION seatgate_size_stripes(p_key TEXT, p_seats BIGINT) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    total BIGINT;
    seats BIGINT := greatest(p_seats, 0);
BEGIN
    INSERT INTO seat_stripes (license_key_id, stripe)
        SELECT p_key, s FROM generate_series(0, 15) s
        ON CONFLICT (license_key_id, stripe) DO NOTHING;
    PERFORM 1 FROM seat_stripes st WHERE st.license_key_id = p_key
        ORDER BY st.stripe FOR UPDATE;
    SELECT sum(st.used) INTO total FROM seat_stripes st WHERE st.license_key_id = p_key;
    IF total <= seats THEN
        UPDATE seat_stripes st SET cap = st.used + (seats - total) / 16
            + CASE WHEN st.stripe < (seats - total) % 16 THEN 1 ELSE 0 END
            WHERE st.license_key_id = p_key;
    ELSE
        UPDATE seat_stripes st SET cap = st.used
            - least(st.used, greatest(0, (total - seats) - o.before))
            FROM (SELECT x.stripe, coalesce(sum(x.used) OVER (ORDER BY x.stripe
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                  FROM seat_stripes x WHERE x.license_key_id = p_key) o
            WHERE st.license_key_id = p_key AND st.stripe = o.stripe;
    END IF;
END;
$$;

CREATE FUNCTION seatgate_stripes_follow_seats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM seatgate_size_stripes(NEW.id, NEW.seats);
    RETURN NULL;
END;
$$;

CREATE TRIGGER license_keys_striped
    AFTER INSERT OR UPDATE OF seats ON license_keys
    FOR EACH ROW EXECUTE FUNCTION seatgate_stripes_follow_seats();

-- the seats given so far, dealt over the stripes in turn, then each subscription sized
ALTER TABLE seat_assignments ADD COLUMN stripe INT;
UPDATE seat_assignments sa SET stripe = r.n % 16
    FROM (SELECT x.license_key_id, x.user_id,
            row_number() OVER (PARTITION BY x.license_key_id ORDER BY x.assigned_at, x.user_id)
                - 1 AS n
          FROM seat_assignments x) r
    WHERE r.license_key_id = sa.license_key_id AND r.user_id = sa.user_id;
ALTER TABLE seat_assignments ALTER COLUMN stripe SET NOT NULL;
INSERT INTO seat_stripes (license_key_id, stripe, used)
    SELECT lk.id, s, (SELECT count(*) FROM seat_assignments sa
        WHERE sa.license_key_id = lk.id AND sa.stripe = s)
    FROM license_keys lk, generate_series(0, 15) s;
SELECT seatgate_size_stripes(lk.id, lk.seats) FROM license_keys lk;

-- an insert that names no stripe takes the first with room, waiting for grants in flight
CREATE FUNCTION seatgate_seat_stripe() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.stripe IS NULL THEN
        SELECT st.stripe INTO NEW.stripe FROM seat_stripes st
            WHERE st.license_key_id = NEW.license_key_id AND st.used < st.cap
            ORDER BY st.stripe LIMIT 1 FOR UPDATE;
        IF NEW.stripe IS NULL THEN
            RAISE EXCEPTION 'subscription % has no free seat', NEW.license_key_id
                USING ERRCODE = 'SG001';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER seat_assignments_striped
    BEFORE INSERT ON seat_assignments
    FOR EACH ROW EXECUTE FUNCTION seatgate_seat_stripe();

-- each seat counted in its stripe: taken only where there is room; a freed seat that opens
-- room while another stripe is over its cap moves that cap unit to it
CREATE FUNCTION seatgate_count_stripe() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    now_used BIGINT;
    now_cap BIGINT;
    owing INT;
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE seat_stripes SET used = used - 1
            WHERE license_key_id = OLD.license_key_id AND stripe = OLD.stripe
            RETURNING used, cap INTO now_used, now_cap;
        IF now_used < now_cap THEN
            SELECT st.stripe INTO owing FROM seat_stripes st
                WHERE st.license_key_id = OLD.license_key_id AND st.used > st.cap
                ORDER BY st.stripe LIMIT 1 FOR UPDATE;
            IF owing IS NOT NULL THEN
                UPDATE seat_stripes SET cap = cap - 1
                    WHERE license_key_id = OLD.license_key_id AND stripe = OLD.stripe;
                UPDATE seat_stripes SET cap = cap + 1
                    WHERE license_key_id = OLD.license_key_id AND stripe = owing;
            END IF;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE seat_stripes SET used = used + 1
            WHERE license_key_id = NEW.license_key_id AND stripe = NEW.stripe AND used < cap;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'stripe % of subscription % is full', NEW.stripe, NEW.license_key_id
                USING ERRCODE = 'SG001';
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER seat_assignments_counted
    AFTER INSERT OR DELETE OR UPDATE OF license_key_id, stripe ON seat_assignments
    FOR EACH ROW EXECUTE FUNCTION seatgate_count_stripe();

-- The locking path (0008, 0009): the subscriptions locked in id order, as revocations lock
-- them; the subscription where the person holds a seat first; else the oldest live one where
-- a stripe with room can be locked, waiting for grants in flight.
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
    chosen_stripe INT;
    any_key BOOLEAN := false;
    any_live BOOLEAN := false;
BEGIN
    PERFORM 1 FROM license_keys lk
        WHERE lk.business_id = p_business_id AND lk.product = p_product
        ORDER BY lk.id FOR NO KEY UPDATE;
    -- per subscription, oldest first: whether this person holds a seat, their other active
    -- devices, and whether this device is active (to be replaced)
    FOR k IN
        SELECT lk.id, lk.expires_at,
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
        IF k.holds > 0 THEN
            chosen := k;
            seat_was_held := true;
            EXIT;
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
        FOR k IN
            SELECT lk.id, lk.expires_at, 0::bigint AS holds,
                (SELECT count(*) FROM activations a WHERE a.license_key_id = lk.id
                    AND a.user_id = p_user_id AND a.revoked_at IS NULL
                    AND a.device_id <> p_device_id) AS others,
                (SELECT count(*) FROM activations a WHERE a.license_key_id = lk.id
                    AND a.user_id = p_user_id AND a.revoked_at IS NULL
                    AND a.device_id = p_device_id) AS same_device
            FROM license_keys lk
            WHERE lk.business_id = p_business_id AND lk.product = p_product
                AND (lk.expires_at IS NULL OR lk.expires_at > p_now)
            ORDER BY lk.registered_at, lk.id
        LOOP
            SELECT st.stripe INTO chosen_stripe FROM seat_stripes st
                WHERE st.license_key_id = k.id AND st.used < st.cap
                ORDER BY st.stripe LIMIT 1 FOR UPDATE;
            IF chosen_stripe IS NOT NULL THEN
                chosen := k;
                seat_was_held := false;
                EXIT;
            END IF;
        END LOOP;
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
        INSERT INTO seat_assignments (license_key_id, user_id, assigned_at, stripe)
            VALUES (chosen.id, p_user_id, p_now, chosen_stripe);
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

-- The first-seat path (0011): decided in the statement's snapshot, as before, and the seat is
-- a stripe with room taken with SKIP LOCKED (locked, so its room is certain until commit).
-- When none is free of grants in flight, or the person holds a seat, the locking path decides.
-- The advisory lock on the person stays first on both paths.
CREATE OR REPLACE FUNCTION seatgate_grant(
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
    chosen_expires BIGINT;
    chosen_stripe INT;
    settled BOOLEAN := false;
BEGIN
    PERFORM pg_advisory_xact_lock(
        hashtextextended('seatgate.grant:' || coalesce(p_email_lc, p_user_id), 0));
    IF p_fast AND p_device_limit > 0 THEN
        settled := true;
        -- oldest live subscription first, as the locking path chooses
        FOR k IN
            SELECT lk.id, lk.seats, lk.expires_at,
                (SELECT coalesce(sum(st.used), 0) FROM seat_stripes st
                    WHERE st.license_key_id = lk.id) AS used,
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
                chosen_expires := k.expires_at;
            END IF;
        END LOOP;
        IF settled AND chosen_id IS NOT NULL THEN
            SELECT st.stripe INTO chosen_stripe FROM seat_stripes st
                WHERE st.license_key_id = chosen_id AND st.used < st.cap
                ORDER BY st.stripe LIMIT 1 FOR UPDATE SKIP LOCKED;
        END IF;
        IF chosen_stripe IS NOT NULL THEN
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
            INSERT INTO seat_assignments (license_key_id, user_id, assigned_at, stripe)
                VALUES (chosen_id, p_user_id, p_now, chosen_stripe);
            outcome := 'granted';
            license_key_id := chosen_id;
            expires_at := chosen_expires;
            seat_was_held := false;
            RETURN;
        END IF;
    END IF;
    -- no room seen or none free of grants in flight, no live subscription, a seat already
    -- held, a device limit of 0: the locking path decides (and says why not)
    SELECT g.outcome, g.license_key_id, g.expires_at, g.seat_was_held
        INTO outcome, license_key_id, expires_at, seat_was_held
        FROM seatgate_grant_seat(p_business_id, p_product, p_user_id, p_device_id,
            p_device_name, p_device_os, p_activation_id, p_secret_hash, p_device_limit, p_now,
            p_email, p_email_lc, p_object_id) g;
END;
$$;
