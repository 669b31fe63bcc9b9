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
        timer_steps int[], timer_ids text[], timer_events json[],${when(shape.versions, " timer_event_versions int[],")} due_ats bigint[],
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
        added bigint;
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

        IF array_length(timer_steps, 1) > 0 THEN
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
 * find a parameter named like a column ambiguous. Its shape (`traceParent`, schema version 5 on)
 * as in {@link FunctionShape}; it came with version 4, so it always has the names and versions.
 */
export function commitOneFunction(s: string, shape: Pick<FunctionShape, "traceParent">): string {
  return `
      CREATE FUNCTION ${s}.drover_commit_one(
        p_machine text, p_id text, p_event_id text, p_fingerprint text, p_at bigint, p_expected bigint,
        p_event json, p_event_version int, p_state json, p_state_name text, p_state_version int,
        p_intents json, p_result json,${when(shape.traceParent, " p_trace_parent text,")} p_intent_ids text[], p_intent_bodies json[],
        p_timer_ids text[], p_timer_events json[], p_timer_event_versions int[], p_due_ats bigint[],
        p_lock_seed bigint, p_channel text, p_payload text)
      RETURNS boolean
      LANGUAGE plpgsql VOLATILE
      SET plan_cache_mode = force_generic_plan
      SET enable_seqscan = off
      AS $fn$
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
        IF cardinality(p_timer_ids) > 0 THEN
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
