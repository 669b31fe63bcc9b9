// The PL/pgSQL functions on every step's path, as the migrations make them (migrations.ts):
// each migration that changes one calls its template here with the shape of its schema
// version. The text a released migration produced must never change: released-migrations.test.ts
// pins it by hash.

/**
 * Which shape of a function to make: with the entities' `state_name` (schema version 2 on) or
 * without, with the state and event versions (schema version 3 on) or without, with the step's
 * `traceparent` on its outbox rows and timers (schema version 5 on) or without. All come from
 * one template; `released-migrations.test.ts` pins the text of every released migration, so an
 * edit of the template that would change one fails there.
 */
export interface FunctionShape {
  readonly stateName: boolean;
  readonly versions: boolean;
  readonly traceParent: boolean;
  /**
   * Schema version 6 on: timers keep their key (`timer_key`) and steps cancel timers (by key or
   * id), a keyed timer replacing the entity's pending one of its key. Only with the names,
   * versions and traceparents. Absent: false.
   */
  readonly timerKeys?: boolean;
}

/** `text` when `on`, else nothing: how a shape adds its parts to the template. */
function when(on: boolean, text: string): string {
  return on ? text : "";
}

/**
 * `drover_load`: an entity and the inbox record of an event id, in one call. A function for
 * the same reason as `drover_commit`: it is on every step's path, and its plan — two primary
 * key lookups — is made once per connection and kept.
 */
export function loadFunction(s: string, shape: Pick<FunctionShape, "stateName" | "versions">): string {
  return `
      CREATE FUNCTION ${s}.drover_load(entity_machine text, entity_id text, event text)
      RETURNS TABLE (version bigint, state json,${when(shape.stateName, " state_name text,")}${when(shape.versions, " state_version integer,")} created_at bigint, updated_at bigint,
                     inbox_machine text, inbox_id text, fingerprint text, result json, at bigint)
      LANGUAGE plpgsql STABLE
      SET plan_cache_mode = force_generic_plan
      SET enable_seqscan = off
      AS $fn$
      BEGIN
        RETURN QUERY
        SELECT e.version, e.state,${when(shape.stateName, " e.state_name,")}${when(shape.versions, " e.state_version,")} e.created_at, e.updated_at, i.machine, i.id, i.fingerprint, i.result, i.at
          FROM (SELECT 1) AS one
          LEFT JOIN ${s}.entities AS e ON e.machine = entity_machine AND e.id = entity_id
          LEFT JOIN ${s}.inbox AS i ON i.event_id = event;
      END
      $fn$;`;
}

/**
 * `drover_commit`: a batch of steps in one call, so one round trip and one transaction.
 *
 * Arguments are one array per column: the steps, then their outbox rows and timers (each with
 * the 1-based number of its step). Per step, in order: a known event id is a duplicate and
 * writes nothing; a version that is not the expected one is a conflict and writes nothing;
 * otherwise an accepted step moves its entity to `expected + 1` (creating it at 0) and a
 * rejected one only counts as written (from schema version 3 the entity and its journal row
 * keep the step's state version, the journal row and the timers the event version; from
 * version 5 the outbox rows and timers keep the step's `traceparent`, one per step). Then
 * journal, inbox, outbox and timer rows of the written steps are inserted, four set-based
 * statements for the whole batch, and if outbox
 * rows or timers were written, `pg_notify` tells other processes' dispatchers (sent at commit).
 * Any error (a broken constraint, another process's inbox row for the same event id) fails
 * the whole call; the caller then applies the steps one call each, in savepoints.
 *
 * The entities' advisory locks are taken first, all of them, in key order: concurrent batches
 * over the same entities queue instead of deadlocking, and since every later statement takes
 * a fresh snapshot, each step reads the entity's latest committed version.
 *
 * Plans: the function's statements are planned once per connection and reused
 * (`force_generic_plan`), which spares re-planning on every commit; with `enable_seqscan`
 * off their only table reads are primary-key lookups, so a plan made while the tables were
 * empty is the same as one made later (the generic-plan trap of an empty inbox cannot happen).
 */
export function commitFunction(s: string, shape: FunctionShape): string {
  return `
      CREATE FUNCTION ${s}.drover_commit(
        kinds text[], machines text[], ids text[], event_ids text[], fingerprints text[], ats bigint[],
        expected bigint[], events json[],${when(shape.versions, " event_versions int[],")} states json[],${when(shape.stateName, " state_names text[],")}${when(shape.versions, " state_versions int[],")} intents json[], results json[],${when(shape.traceParent, " trace_parents text[],")}
        outbox_steps int[], intent_ids text[], intent_bodies json[],
        timer_steps int[], timer_ids text[],${when(shape.timerKeys === true, " timer_keys text[],")} timer_events json[],${when(shape.versions, " timer_event_versions int[],")} due_ats bigint[],${when(shape.timerKeys === true, "\n        cancel_steps int[], cancel_names text[],")}
        lock_seed bigint, channel text, payload text)
      RETURNS TABLE (step int, written boolean, current_version bigint,
                     inbox_machine text, inbox_id text, inbox_fingerprint text, inbox_result json, inbox_at bigint)
      LANGUAGE plpgsql VOLATILE
      SET plan_cache_mode = force_generic_plan
      SET enable_seqscan = off
      AS $fn$
      DECLARE
        total int := coalesce(array_length(kinds, 1), 0);
        ok boolean[] := array_fill(false, ARRAY[total]);
        k int;
        seen record;
        cur bigint;
        work bigint := 0;
        added bigint;${when(shape.timerKeys === true, "\n        names text[];\n        j int;")}
      BEGIN
        PERFORM count(pg_advisory_xact_lock(l.key))
           FROM (SELECT DISTINCT hashtextextended(u.m || '/' || u.i, lock_seed) AS key
                   FROM unnest(machines, ids) AS u(m, i) ORDER BY 1) AS l;

        FOR k IN 1 .. total LOOP
          step := k;
          written := false;
          current_version := NULL;
          inbox_machine := NULL; inbox_id := NULL; inbox_fingerprint := NULL; inbox_result := NULL; inbox_at := NULL;
          SELECT b.machine, b.id, b.fingerprint, b.result, b.at INTO seen
            FROM ${s}.inbox AS b WHERE b.event_id = event_ids[k];
          IF FOUND THEN
            inbox_machine := seen.machine; inbox_id := seen.id; inbox_fingerprint := seen.fingerprint;
            inbox_result := seen.result; inbox_at := seen.at;
            RETURN NEXT;
            CONTINUE;
          END IF;

          IF kinds[k] = 'accepted' AND expected[k] = 0 THEN
            INSERT INTO ${s}.entities AS e (machine, id, version, state,${when(shape.stateName, " state_name,")}${when(shape.versions, " state_version,")} created_at, updated_at)
            VALUES (machines[k], ids[k], 1, states[k],${when(shape.stateName, " state_names[k],")}${when(shape.versions, " state_versions[k],")} ats[k], ats[k])
            ON CONFLICT DO NOTHING;
            written := FOUND;
          ELSIF kinds[k] = 'accepted' THEN
            UPDATE ${s}.entities AS e SET version = e.version + 1, state = states[k],${when(shape.stateName, " state_name = state_names[k],")}${when(shape.versions, " state_version = state_versions[k],")} updated_at = ats[k]
             WHERE e.machine = machines[k] AND e.id = ids[k] AND e.version = expected[k];
            written := FOUND;
          END IF;
          IF NOT written THEN
            SELECT e.version INTO cur FROM ${s}.entities AS e WHERE e.machine = machines[k] AND e.id = ids[k];
            current_version := coalesce(cur, 0);
            written := kinds[k] = 'rejected' AND current_version = expected[k];
          END IF;
          ok[k] := written;
          RETURN NEXT;
        END LOOP;

        ${
          shape.versions
            ? `INSERT INTO ${s}.journal (machine, id, version, event_id, event, event_version, decision, state_version, intents, at)
        SELECT t.machine, t.id, t.expected + 1, t.event_id, t.event, t.event_version, t.state, t.state_version, t.intents, t.at
          FROM unnest(kinds, machines, ids, event_ids, ats, expected, events, event_versions, states, state_versions, intents)
               WITH ORDINALITY AS t(kind, machine, id, event_id, at, expected, event, event_version, state, state_version, intents, n)`
            : `INSERT INTO ${s}.journal (machine, id, version, event_id, event, decision, intents, at)
        SELECT t.machine, t.id, t.expected + 1, t.event_id, t.event, t.state, t.intents, t.at
          FROM unnest(kinds, machines, ids, event_ids, ats, expected, events, states, intents)
               WITH ORDINALITY AS t(kind, machine, id, event_id, at, expected, event, state, intents, n)`
        }
         WHERE ok[t.n] AND t.kind = 'accepted';

        INSERT INTO ${s}.inbox (event_id, machine, id, fingerprint, result, at)
        SELECT t.event_id, t.machine, t.id, t.fingerprint, t.result, t.at
          FROM unnest(machines, ids, event_ids, fingerprints, results, ats)
               WITH ORDINALITY AS t(machine, id, event_id, fingerprint, result, at, n)
         WHERE ok[t.n]
         ORDER BY t.event_id;

        IF array_length(outbox_steps, 1) > 0 THEN
          INSERT INTO ${s}.outbox (intent_id, machine, entity_id, intent, status, attempts, next_attempt_at, created_at${when(shape.traceParent, ", trace_parent")})
          SELECT o.intent_id, machines[o.step], ids[o.step], o.intent, 'pending', 0, ats[o.step], ats[o.step]${when(shape.traceParent, ", trace_parents[o.step]")}
            FROM unnest(outbox_steps, intent_ids, intent_bodies) WITH ORDINALITY AS o(step, intent_id, intent, n)
           WHERE ok[o.step] AND kinds[o.step] = 'accepted'
           ORDER BY o.n;
          GET DIAGNOSTICS added = ROW_COUNT;
          work := work + added;
        END IF;

        ${when(shape.timerKeys === true, timerCancels(s))}IF array_length(timer_steps, 1) > 0 THEN
          ${
            shape.versions
              ? `INSERT INTO ${s}.timers (timer_id, machine, entity_id, event, event_version, due_at, status, attempts, next_attempt_at${when(shape.traceParent, ", trace_parent")})
          SELECT t.timer_id, machines[t.step], ids[t.step], t.event, t.event_version, t.due_at, 'pending', 0, t.due_at${when(shape.traceParent, ", trace_parents[t.step]")}
            FROM unnest(timer_steps, timer_ids, timer_events, timer_event_versions, due_ats)
                 WITH ORDINALITY AS t(step, timer_id, event, event_version, due_at, n)`
              : `INSERT INTO ${s}.timers (timer_id, machine, entity_id, event, due_at, status, attempts, next_attempt_at)
          SELECT t.timer_id, machines[t.step], ids[t.step], t.event, t.due_at, 'pending', 0, t.due_at
            FROM unnest(timer_steps, timer_ids, timer_events, due_ats) WITH ORDINALITY AS t(step, timer_id, event, due_at, n)`
          }
           WHERE ok[t.step] AND kinds[t.step] = 'accepted'
           ORDER BY t.n;
          GET DIAGNOSTICS added = ROW_COUNT;
          work := work + added;
        END IF;

        IF work > 0 THEN
          PERFORM pg_notify(channel, payload);
        END IF;
      END
      $fn$;`;
}

/**
 * The cancels and keyed timers of `drover_commit` (schema version 6 on), before its set-based
 * insert of timers. Only when the batch has a cancel or a keyed timer (else nothing runs but
 * the test): step by step in batch order, each written accepted step cancels the pending timers
 * of its entity named (by id or key) in `cancel_names`, then inserts its timers one by one, each
 * keyed one first cancelling the entity's pending timer of its key (it replaces it). So a later
 * step of the batch cancels or replaces what an earlier one scheduled, as if they were committed
 * one after the other. The timers are then written: `timer_steps` is emptied, which skips the
 * set-based insert. The entity's pending timers are found through `timers_pending_by_key`.
 */
function timerCancels(s: string): string {
  return `IF array_length(cancel_steps, 1) > 0 OR array_length(array_remove(timer_keys, NULL), 1) > 0 THEN
          FOR k IN 1 .. total LOOP
            CONTINUE WHEN NOT ok[k] OR kinds[k] <> 'accepted';
            names := ARRAY(SELECT c.name FROM unnest(cancel_steps, cancel_names) AS c(step, name) WHERE c.step = k);
            IF cardinality(names) > 0 THEN
              UPDATE ${s}.timers AS t SET status = 'cancelled', lease_owner = NULL, lease_until = NULL
               WHERE t.machine = machines[k] AND t.entity_id = ids[k] AND t.status = 'pending'
                 AND (t.timer_id = ANY (names) OR t.timer_key = ANY (names));
            END IF;
            FOR j IN SELECT u.n FROM unnest(timer_steps) WITH ORDINALITY AS u(step, n) WHERE u.step = k ORDER BY u.n LOOP
              IF timer_keys[j] IS NOT NULL THEN
                UPDATE ${s}.timers AS t SET status = 'cancelled', lease_owner = NULL, lease_until = NULL
                 WHERE t.machine = machines[k] AND t.entity_id = ids[k] AND t.status = 'pending'
                   AND t.timer_key = timer_keys[j];
              END IF;
              INSERT INTO ${s}.timers (timer_id, timer_key, machine, entity_id, event, event_version, due_at, status, attempts,
                                       next_attempt_at, trace_parent)
              VALUES (timer_ids[j], timer_keys[j], machines[k], ids[k], timer_events[j], timer_event_versions[j], due_ats[j],
                      'pending', 0, due_ats[j], trace_parents[k]);
              work := work + 1;
            END LOOP;
          END LOOP;
          timer_steps := '{}';
        END IF;

        `;
}

/**
 * `drover_commit_one`: one accepted step. The entity's write (created at version 1, or moved
 * from `expected` to `expected + 1`) gates the rest: when it writes nothing (the version moved,
 * the entity exists already) the function returns `false` and nothing is written; otherwise the
 * journal, inbox, outbox and timer rows follow, in that order, as `drover_commit` writes them,
 * and `pg_notify` tells other processes' dispatchers when outbox rows or timers were written
 * (sent at commit). An error (another writer's inbox row for the event id) writes nothing either;
 * the store then asks `drover_commit`, which tells a conflict from a duplicate.
 *
 * It takes the entity's advisory lock first, as `drover_commit` and rewrites do, so that
 * whatever queues on an entity's lock queues on this step too. Plans as in `drover_commit`:
 * made once per connection, index lookups only. Parameters are prefixed `p_`: PL/pgSQL would
 * find a parameter named like a column ambiguous. Its shape (`traceParent`, schema version 5 on;
 * `timerKeys`, version 6 on) as in {@link FunctionShape}; it came with version 4, so it always
 * has the names and versions. With `timerKeys`, the step's cancels come before its timers, and
 * when one of them has a key they are inserted one by one, each keyed one first cancelling the
 * entity's pending timer of its key; without a key, one set-based insert as before.
 */
export function commitOneFunction(s: string, shape: Pick<FunctionShape, "traceParent" | "timerKeys">): string {
  const keys = shape.timerKeys === true;
  return `
      CREATE FUNCTION ${s}.drover_commit_one(
        p_machine text, p_id text, p_event_id text, p_fingerprint text, p_at bigint, p_expected bigint,
        p_event json, p_event_version int, p_state json, p_state_name text, p_state_version int,
        p_intents json, p_result json,${when(shape.traceParent, " p_trace_parent text,")} p_intent_ids text[], p_intent_bodies json[],
        p_timer_ids text[],${when(keys, " p_timer_keys text[],")} p_timer_events json[], p_timer_event_versions int[], p_due_ats bigint[],${when(keys, " p_cancels text[],")}
        p_lock_seed bigint, p_channel text, p_payload text)
      RETURNS boolean
      LANGUAGE plpgsql VOLATILE
      SET plan_cache_mode = force_generic_plan
      SET enable_seqscan = off
      AS $fn$${when(keys, "\n      DECLARE\n        j int;")}
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_machine || '/' || p_id, p_lock_seed));
        IF p_expected = 0 THEN
          INSERT INTO ${s}.entities (machine, id, version, state, state_name, state_version, created_at, updated_at)
          VALUES (p_machine, p_id, 1, p_state, p_state_name, p_state_version, p_at, p_at)
          ON CONFLICT DO NOTHING;
        ELSE
          UPDATE ${s}.entities AS e SET version = e.version + 1, state = p_state, state_name = p_state_name,
                 state_version = p_state_version, updated_at = p_at
           WHERE e.machine = p_machine AND e.id = p_id AND e.version = p_expected;
        END IF;
        IF NOT FOUND THEN
          RETURN false;
        END IF;

        INSERT INTO ${s}.journal (machine, id, version, event_id, event, event_version, decision, state_version, intents, at)
        VALUES (p_machine, p_id, p_expected + 1, p_event_id, p_event, p_event_version, p_state, p_state_version,
                p_intents, p_at);
        INSERT INTO ${s}.inbox (event_id, machine, id, fingerprint, result, at)
        VALUES (p_event_id, p_machine, p_id, p_fingerprint, p_result, p_at);
        IF cardinality(p_intent_ids) > 0 THEN
          INSERT INTO ${s}.outbox (intent_id, machine, entity_id, intent, status, attempts, next_attempt_at, created_at${when(shape.traceParent, ", trace_parent")})
          SELECT o.intent_id, p_machine, p_id, o.intent, 'pending', 0, p_at, p_at${when(shape.traceParent, ", p_trace_parent")}
            FROM unnest(p_intent_ids, p_intent_bodies) WITH ORDINALITY AS o(intent_id, intent, n)
           ORDER BY o.n;
        END IF;
        ${when(keys, oneStepTimerCancels(s))}IF cardinality(p_timer_ids) > 0 THEN
          INSERT INTO ${s}.timers (timer_id, machine, entity_id, event, event_version, due_at, status, attempts, next_attempt_at${when(shape.traceParent, ", trace_parent")})
          SELECT t.timer_id, p_machine, p_id, t.event, t.event_version, t.due_at, 'pending', 0, t.due_at${when(shape.traceParent, ", p_trace_parent")}
            FROM unnest(p_timer_ids, p_timer_events, p_timer_event_versions, p_due_ats)
                 WITH ORDINALITY AS t(timer_id, event, event_version, due_at, n)
           ORDER BY t.n;
        END IF;
        IF cardinality(p_intent_ids) > 0 OR cardinality(p_timer_ids) > 0 THEN
          PERFORM pg_notify(p_channel, p_payload);
        END IF;
        RETURN true;
      END
      $fn$;`;
}

/** The cancels and keyed timers of `drover_commit_one` (schema version 6 on); see {@link commitOneFunction}. */
function oneStepTimerCancels(s: string): string {
  return `IF cardinality(p_cancels) > 0 THEN
          UPDATE ${s}.timers AS t SET status = 'cancelled', lease_owner = NULL, lease_until = NULL
           WHERE t.machine = p_machine AND t.entity_id = p_id AND t.status = 'pending'
             AND (t.timer_id = ANY (p_cancels) OR t.timer_key = ANY (p_cancels));
        END IF;
        IF cardinality(array_remove(p_timer_keys, NULL)) > 0 THEN
          FOR j IN 1 .. cardinality(p_timer_ids) LOOP
            IF p_timer_keys[j] IS NOT NULL THEN
              UPDATE ${s}.timers AS t SET status = 'cancelled', lease_owner = NULL, lease_until = NULL
               WHERE t.machine = p_machine AND t.entity_id = p_id AND t.status = 'pending'
                 AND t.timer_key = p_timer_keys[j];
            END IF;
            INSERT INTO ${s}.timers (timer_id, timer_key, machine, entity_id, event, event_version, due_at, status, attempts,
                                     next_attempt_at, trace_parent)
            VALUES (p_timer_ids[j], p_timer_keys[j], p_machine, p_id, p_timer_events[j], p_timer_event_versions[j],
                    p_due_ats[j], 'pending', 0, p_due_ats[j], p_trace_parent);
          END LOOP;
          PERFORM pg_notify(p_channel, p_payload);
          RETURN true;
        END IF;
        `;
}

/**
 * The functions of the intent controls (schema version 6 on), each one call, so one round trip
 * and one transaction, its statements each taking a fresh snapshot after the lock.
 *
 * `drover_acquire_slot`: takes the key's advisory lock (`hashtextextended('slot/' || key)`,
 * seeded per schema like the entities' locks) so that every process's acquirers of a key queue,
 * then frees the key's expired slots, renews the holder's slot if it has one, else takes a new
 * one if fewer than `p_limit` are held. So a key never has more than `p_limit` unexpired holders.
 *
 * `drover_take_token`: the bucket's row, created full (`p_burst`) when first seen, locked
 * (`FOR UPDATE`) while it is refilled at `p_per_second` for the time since it was last
 * seen and one token taken: 0, or the milliseconds until one will be there (nothing taken;
 * infinity when the rate is not positive). Its time never goes back: a process whose clock is
 * behind refills nothing rather than moving the bucket's time back (and refilling twice).
 */
export function intentControlFunctions(s: string): string {
  return `
      CREATE FUNCTION ${s}.drover_acquire_slot(
        p_key text, p_limit int, p_holder text, p_owner text, p_now bigint, p_until bigint, p_lock_seed bigint)
      RETURNS boolean
      LANGUAGE plpgsql VOLATILE
      AS $fn$
      DECLARE
        held bigint;
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended('slot/' || p_key, p_lock_seed));
        DELETE FROM ${s}.intent_slots AS l WHERE l.slot_key = p_key AND l.lease_until <= p_now;
        UPDATE ${s}.intent_slots AS l SET owner = p_owner, lease_until = p_until
         WHERE l.slot_key = p_key AND l.holder = p_holder;
        IF FOUND THEN
          RETURN true;
        END IF;
        SELECT count(*) INTO held FROM ${s}.intent_slots AS l WHERE l.slot_key = p_key;
        IF held >= p_limit THEN
          RETURN false;
        END IF;
        INSERT INTO ${s}.intent_slots (slot_key, holder, owner, lease_until) VALUES (p_key, p_holder, p_owner, p_until);
        RETURN true;
      END
      $fn$;

      CREATE FUNCTION ${s}.drover_take_token(p_key text, p_per_second double precision, p_burst double precision, p_now bigint)
      RETURNS double precision
      LANGUAGE plpgsql VOLATILE
      AS $fn$
      DECLARE
        bucket record;
        level double precision;
      BEGIN
        INSERT INTO ${s}.rate_buckets (bucket_key, tokens, updated_at) VALUES (p_key, p_burst, p_now)
        ON CONFLICT DO NOTHING;
        SELECT b.tokens, b.updated_at INTO bucket FROM ${s}.rate_buckets AS b WHERE b.bucket_key = p_key FOR UPDATE;
        level := least(p_burst, bucket.tokens + (greatest(0, p_now - bucket.updated_at) * p_per_second) / 1000);
        IF level >= 1 THEN
          UPDATE ${s}.rate_buckets AS b SET tokens = level - 1, updated_at = greatest(bucket.updated_at, p_now)
           WHERE b.bucket_key = p_key;
          RETURN 0;
        END IF;
        UPDATE ${s}.rate_buckets AS b SET tokens = level, updated_at = greatest(bucket.updated_at, p_now)
         WHERE b.bucket_key = p_key;
        IF p_per_second <= 0 THEN
          RETURN 'Infinity';
        END IF;
        RETURN ceil(((1 - level) * 1000) / p_per_second);
      END
      $fn$;`;
}
