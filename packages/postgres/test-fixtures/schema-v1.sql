--
-- PostgreSQL database dump
--


-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: __SCHEMA__; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA __SCHEMA__;


--
-- Name: drover_commit(text[], text[], text[], text[], text[], bigint[], bigint[], json[], json[], json[], json[], integer[], text[], json[], integer[], text[], json[], bigint[], bigint, text, text); Type: FUNCTION; Schema: __SCHEMA__; Owner: -
--

CREATE FUNCTION __SCHEMA__.drover_commit(kinds text[], machines text[], ids text[], event_ids text[], fingerprints text[], ats bigint[], expected bigint[], events json[], states json[], intents json[], results json[], outbox_steps integer[], intent_ids text[], intent_bodies json[], timer_steps integer[], timer_ids text[], timer_events json[], due_ats bigint[], lock_seed bigint, channel text, payload text) RETURNS TABLE(step integer, written boolean, current_version bigint, inbox_machine text, inbox_id text, inbox_fingerprint text, inbox_result json, inbox_at bigint)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    AS $$
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
            FROM "__SCHEMA__".inbox AS b WHERE b.event_id = event_ids[k];
          IF FOUND THEN
            inbox_machine := seen.machine; inbox_id := seen.id; inbox_fingerprint := seen.fingerprint;
            inbox_result := seen.result; inbox_at := seen.at;
            RETURN NEXT;
            CONTINUE;
          END IF;

          IF kinds[k] = 'accepted' AND expected[k] = 0 THEN
            INSERT INTO "__SCHEMA__".entities AS e (machine, id, version, state, created_at, updated_at)
            VALUES (machines[k], ids[k], 1, states[k], ats[k], ats[k])
            ON CONFLICT DO NOTHING;
            written := FOUND;
          ELSIF kinds[k] = 'accepted' THEN
            UPDATE "__SCHEMA__".entities AS e SET version = e.version + 1, state = states[k], updated_at = ats[k]
             WHERE e.machine = machines[k] AND e.id = ids[k] AND e.version = expected[k];
            written := FOUND;
          END IF;
          IF NOT written THEN
            SELECT e.version INTO cur FROM "__SCHEMA__".entities AS e WHERE e.machine = machines[k] AND e.id = ids[k];
            current_version := coalesce(cur, 0);
            written := kinds[k] = 'rejected' AND current_version = expected[k];
          END IF;
          ok[k] := written;
          RETURN NEXT;
        END LOOP;

        INSERT INTO "__SCHEMA__".journal (machine, id, version, event_id, event, decision, intents, at)
        SELECT t.machine, t.id, t.expected + 1, t.event_id, t.event, t.state, t.intents, t.at
          FROM unnest(kinds, machines, ids, event_ids, ats, expected, events, states, intents)
               WITH ORDINALITY AS t(kind, machine, id, event_id, at, expected, event, state, intents, n)
         WHERE ok[t.n] AND t.kind = 'accepted';

        INSERT INTO "__SCHEMA__".inbox (event_id, machine, id, fingerprint, result, at)
        SELECT t.event_id, t.machine, t.id, t.fingerprint, t.result, t.at
          FROM unnest(machines, ids, event_ids, fingerprints, results, ats)
               WITH ORDINALITY AS t(machine, id, event_id, fingerprint, result, at, n)
         WHERE ok[t.n]
         ORDER BY t.event_id;

        IF array_length(outbox_steps, 1) > 0 THEN
          INSERT INTO "__SCHEMA__".outbox (intent_id, machine, entity_id, intent, status, attempts, next_attempt_at, created_at)
          SELECT o.intent_id, machines[o.step], ids[o.step], o.intent, 'pending', 0, ats[o.step], ats[o.step]
            FROM unnest(outbox_steps, intent_ids, intent_bodies) WITH ORDINALITY AS o(step, intent_id, intent, n)
           WHERE ok[o.step] AND kinds[o.step] = 'accepted'
           ORDER BY o.n;
          GET DIAGNOSTICS added = ROW_COUNT;
          work := work + added;
        END IF;

        IF array_length(timer_steps, 1) > 0 THEN
          INSERT INTO "__SCHEMA__".timers (timer_id, machine, entity_id, event, due_at, status, attempts, next_attempt_at)
          SELECT t.timer_id, machines[t.step], ids[t.step], t.event, t.due_at, 'pending', 0, t.due_at
            FROM unnest(timer_steps, timer_ids, timer_events, due_ats) WITH ORDINALITY AS t(step, timer_id, event, due_at, n)
           WHERE ok[t.step] AND kinds[t.step] = 'accepted'
           ORDER BY t.n;
          GET DIAGNOSTICS added = ROW_COUNT;
          work := work + added;
        END IF;

        IF work > 0 THEN
          PERFORM pg_notify(channel, payload);
        END IF;
      END
      $$;


--
-- Name: drover_load(text, text, text); Type: FUNCTION; Schema: __SCHEMA__; Owner: -
--

CREATE FUNCTION __SCHEMA__.drover_load(entity_machine text, entity_id text, event text) RETURNS TABLE(version bigint, state json, created_at bigint, updated_at bigint, inbox_machine text, inbox_id text, fingerprint text, result json, at bigint)
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    AS $$
      BEGIN
        RETURN QUERY
        SELECT e.version, e.state, e.created_at, e.updated_at, i.machine, i.id, i.fingerprint, i.result, i.at
          FROM (SELECT 1) AS one
          LEFT JOIN "__SCHEMA__".entities AS e ON e.machine = entity_machine AND e.id = entity_id
          LEFT JOIN "__SCHEMA__".inbox AS i ON i.event_id = event;
      END
      $$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: drover_migrations; Type: TABLE; Schema: __SCHEMA__; Owner: -
--

CREATE TABLE __SCHEMA__.drover_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    applied_at bigint NOT NULL
);


--
-- Name: entities; Type: TABLE; Schema: __SCHEMA__; Owner: -
--

CREATE TABLE __SCHEMA__.entities (
    machine text NOT NULL COLLATE pg_catalog."C",
    id text NOT NULL COLLATE pg_catalog."C",
    version bigint NOT NULL,
    state json NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);


--
-- Name: inbox; Type: TABLE; Schema: __SCHEMA__; Owner: -
--

CREATE TABLE __SCHEMA__.inbox (
    event_id text NOT NULL COLLATE pg_catalog."C",
    machine text NOT NULL,
    id text NOT NULL,
    fingerprint text NOT NULL,
    result json NOT NULL,
    at bigint NOT NULL
);


--
-- Name: journal; Type: TABLE; Schema: __SCHEMA__; Owner: -
--

CREATE TABLE __SCHEMA__.journal (
    machine text NOT NULL COLLATE pg_catalog."C",
    id text NOT NULL COLLATE pg_catalog."C",
    version bigint NOT NULL,
    event_id text NOT NULL,
    event json NOT NULL,
    decision json NOT NULL,
    intents json NOT NULL,
    at bigint NOT NULL
);


--
-- Name: outbox; Type: TABLE; Schema: __SCHEMA__; Owner: -
--

CREATE TABLE __SCHEMA__.outbox (
    seq bigint NOT NULL,
    intent_id text NOT NULL COLLATE pg_catalog."C",
    machine text NOT NULL COLLATE pg_catalog."C",
    entity_id text NOT NULL COLLATE pg_catalog."C",
    intent json NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL,
    next_attempt_at bigint NOT NULL,
    lease_owner text,
    lease_until bigint,
    last_error text,
    created_at bigint NOT NULL,
    CONSTRAINT outbox_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'done'::text, 'dead'::text])))
);


--
-- Name: outbox_seq_seq; Type: SEQUENCE; Schema: __SCHEMA__; Owner: -
--

ALTER TABLE __SCHEMA__.outbox ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME __SCHEMA__.outbox_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: timers; Type: TABLE; Schema: __SCHEMA__; Owner: -
--

CREATE TABLE __SCHEMA__.timers (
    seq bigint NOT NULL,
    timer_id text NOT NULL COLLATE pg_catalog."C",
    machine text NOT NULL,
    entity_id text NOT NULL,
    event json NOT NULL,
    due_at bigint NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL,
    next_attempt_at bigint NOT NULL,
    lease_owner text,
    lease_until bigint,
    last_error text,
    CONSTRAINT timers_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'fired'::text])))
);


--
-- Name: timers_seq_seq; Type: SEQUENCE; Schema: __SCHEMA__; Owner: -
--

ALTER TABLE __SCHEMA__.timers ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME __SCHEMA__.timers_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Data for Name: drover_migrations; Type: TABLE DATA; Schema: __SCHEMA__; Owner: -
--

INSERT INTO __SCHEMA__.drover_migrations VALUES (1, 'entities, journal, inbox, outbox, timers', 1796305864036);


--
-- Data for Name: entities; Type: TABLE DATA; Schema: __SCHEMA__; Owner: -
--

INSERT INTO __SCHEMA__.entities VALUES ('tally', 'a1', 2, '{"status":"closed","n":2}', 1767225600001, 1767225600002);
INSERT INTO __SCHEMA__.entities VALUES ('tally', 'b1', 1, '{"state":"idle","n":3}', 1767225600003, 1767225600003);
INSERT INTO __SCHEMA__.entities VALUES ('tally', 'c1', 1, '{"n":4}', 1767225600004, 1767225600004);
INSERT INTO __SCHEMA__.entities VALUES ('tally', 'd1', 1, '5', 1767225600005, 1767225600005);
INSERT INTO __SCHEMA__.entities VALUES ('tally', 'e1', 1, '{"status":7,"state":"open"}', 1767225600006, 1767225600006);


--
-- Data for Name: inbox; Type: TABLE DATA; Schema: __SCHEMA__; Owner: -
--

INSERT INTO __SCHEMA__.inbox VALUES ('e1', 'tally', 'a1', 'fp:e1', '{"kind":"processed","machine":"tally","id":"a1","eventId":"e1","version":1,"state":{"status":"open","n":1},"intents":[{"id":"tally/a1/1/0","intent":{"type":"Ping","n":1}}]}', 1767225600001);
INSERT INTO __SCHEMA__.inbox VALUES ('e2', 'tally', 'a1', 'fp:e2', '{"kind":"processed","machine":"tally","id":"a1","eventId":"e2","version":2,"state":{"status":"closed","n":2},"intents":[]}', 1767225600002);
INSERT INTO __SCHEMA__.inbox VALUES ('e3', 'tally', 'b1', 'fp:e3', '{"kind":"processed","machine":"tally","id":"b1","eventId":"e3","version":1,"state":{"state":"idle","n":3},"intents":[{"id":"tally/b1/1/0","intent":{"type":"Schedule","at":1767225660000,"event":{"type":"Add","n":1}}}]}', 1767225600003);
INSERT INTO __SCHEMA__.inbox VALUES ('e4', 'tally', 'c1', 'fp:e4', '{"kind":"processed","machine":"tally","id":"c1","eventId":"e4","version":1,"state":{"n":4},"intents":[]}', 1767225600004);
INSERT INTO __SCHEMA__.inbox VALUES ('e5', 'tally', 'd1', 'fp:e5', '{"kind":"processed","machine":"tally","id":"d1","eventId":"e5","version":1,"state":5,"intents":[]}', 1767225600005);
INSERT INTO __SCHEMA__.inbox VALUES ('e6', 'tally', 'e1', 'fp:e6', '{"kind":"processed","machine":"tally","id":"e1","eventId":"e6","version":1,"state":{"status":7,"state":"open"},"intents":[]}', 1767225600006);
INSERT INTO __SCHEMA__.inbox VALUES ('e7', 'tally', 'a1', 'fp:e7', '{"kind":"rejected","machine":"tally","id":"a1","eventId":"e7","version":2,"reason":"too_many","detail":"refused"}', 1767225600005);


--
-- Data for Name: journal; Type: TABLE DATA; Schema: __SCHEMA__; Owner: -
--

INSERT INTO __SCHEMA__.journal VALUES ('tally', 'a1', 1, 'e1', '{"type":"Add","n":1}', '{"status":"open","n":1}', '[{"id":"tally/a1/1/0","intent":{"type":"Ping","n":1}}]', 1767225600001);
INSERT INTO __SCHEMA__.journal VALUES ('tally', 'a1', 2, 'e2', '{"type":"Add","n":2}', '{"status":"closed","n":2}', '[]', 1767225600002);
INSERT INTO __SCHEMA__.journal VALUES ('tally', 'b1', 1, 'e3', '{"type":"Add","n":1}', '{"state":"idle","n":3}', '[{"id":"tally/b1/1/0","intent":{"type":"Schedule","at":1767225660000,"event":{"type":"Add","n":1}}}]', 1767225600003);
INSERT INTO __SCHEMA__.journal VALUES ('tally', 'c1', 1, 'e4', '{"type":"Add","n":1}', '{"n":4}', '[]', 1767225600004);
INSERT INTO __SCHEMA__.journal VALUES ('tally', 'd1', 1, 'e5', '{"type":"Add","n":1}', '5', '[]', 1767225600005);
INSERT INTO __SCHEMA__.journal VALUES ('tally', 'e1', 1, 'e6', '{"type":"Add","n":1}', '{"status":7,"state":"open"}', '[]', 1767225600006);


--
-- Data for Name: outbox; Type: TABLE DATA; Schema: __SCHEMA__; Owner: -
--

INSERT INTO __SCHEMA__.outbox OVERRIDING SYSTEM VALUE VALUES (1, 'tally/a1/1/0', 'tally', 'a1', '{"type":"Ping","n":1}', 'pending', 0, 1767225600001, NULL, NULL, NULL, 1767225600001);


--
-- Data for Name: timers; Type: TABLE DATA; Schema: __SCHEMA__; Owner: -
--

INSERT INTO __SCHEMA__.timers OVERRIDING SYSTEM VALUE VALUES (1, 'tally/b1/1/0', 'tally', 'b1', '{"type":"Add","n":1}', 1767225660000, 'pending', 0, 1767225660000, NULL, NULL, NULL);


--
-- Name: outbox_seq_seq; Type: SEQUENCE SET; Schema: __SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__SCHEMA__.outbox_seq_seq', 1, true);


--
-- Name: timers_seq_seq; Type: SEQUENCE SET; Schema: __SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__SCHEMA__.timers_seq_seq', 1, true);


--
-- Name: drover_migrations drover_migrations_pkey; Type: CONSTRAINT; Schema: __SCHEMA__; Owner: -
--

ALTER TABLE ONLY __SCHEMA__.drover_migrations
    ADD CONSTRAINT drover_migrations_pkey PRIMARY KEY (version);


--
-- Name: entities entities_pkey; Type: CONSTRAINT; Schema: __SCHEMA__; Owner: -
--

ALTER TABLE ONLY __SCHEMA__.entities
    ADD CONSTRAINT entities_pkey PRIMARY KEY (machine, id);


--
-- Name: inbox inbox_pkey; Type: CONSTRAINT; Schema: __SCHEMA__; Owner: -
--

ALTER TABLE ONLY __SCHEMA__.inbox
    ADD CONSTRAINT inbox_pkey PRIMARY KEY (event_id);


--
-- Name: journal journal_pkey; Type: CONSTRAINT; Schema: __SCHEMA__; Owner: -
--

ALTER TABLE ONLY __SCHEMA__.journal
    ADD CONSTRAINT journal_pkey PRIMARY KEY (machine, id, version);


--
-- Name: outbox outbox_intent_id_key; Type: CONSTRAINT; Schema: __SCHEMA__; Owner: -
--

ALTER TABLE ONLY __SCHEMA__.outbox
    ADD CONSTRAINT outbox_intent_id_key UNIQUE (intent_id);


--
-- Name: outbox outbox_pkey; Type: CONSTRAINT; Schema: __SCHEMA__; Owner: -
--

ALTER TABLE ONLY __SCHEMA__.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (seq);


--
-- Name: timers timers_pkey; Type: CONSTRAINT; Schema: __SCHEMA__; Owner: -
--

ALTER TABLE ONLY __SCHEMA__.timers
    ADD CONSTRAINT timers_pkey PRIMARY KEY (timer_id);


--
-- Name: outbox_by_status; Type: INDEX; Schema: __SCHEMA__; Owner: -
--

CREATE INDEX outbox_by_status ON __SCHEMA__.outbox USING btree (status, seq);


--
-- Name: outbox_pending_by_entity; Type: INDEX; Schema: __SCHEMA__; Owner: -
--

CREATE INDEX outbox_pending_by_entity ON __SCHEMA__.outbox USING btree (machine, entity_id, seq) WHERE (status = 'pending'::text);


--
-- Name: timers_by_due; Type: INDEX; Schema: __SCHEMA__; Owner: -
--

CREATE INDEX timers_by_due ON __SCHEMA__.timers USING btree (due_at, seq);


--
-- Name: timers_claim; Type: INDEX; Schema: __SCHEMA__; Owner: -
--

CREATE INDEX timers_claim ON __SCHEMA__.timers USING btree (status, next_attempt_at);


--
-- PostgreSQL database dump complete
--


