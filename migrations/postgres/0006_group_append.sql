-- One round trip per commit group (service_layer/recorders.py): the command answers and the
-- events of a group in one implicit transaction, taking the same EXCLUSIVE table lock and
-- sending the same NOTIFY as eventsourcing's PostgresApplicationRecorder, so notification ids
-- still become visible in commit order. Four statements from the client cost the command
-- writer about twice the CPU and 1.7x the wall time of this one call
-- (scripts/bench_group_append.py).

CREATE OR REPLACE FUNCTION public.glow_append_inventory_events(
    answer_keys text[], answer_fingerprints text[], answer_statuses int4[],
    answer_responses bytea[], event_ids uuid[], event_versions int8[], event_topics text[],
    event_states bytea[], lock_timeout_seconds int4
) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(answer_keys) > 0 THEN
        INSERT INTO public.glow_command_answers (idempotency_key, fingerprint, status, response)
        SELECT * FROM unnest(answer_keys, answer_fingerprints, answer_statuses, answer_responses);
    END IF;
    IF cardinality(event_ids) > 0 THEN
        PERFORM set_config('lock_timeout', lock_timeout_seconds || 's', true);
        LOCK TABLE public.inventory_events IN EXCLUSIVE MODE;
        NOTIFY inventory_events;
        RETURN QUERY
            INSERT INTO public.inventory_events
                (originator_id, originator_version, topic, state)
            SELECT * FROM unnest(event_ids, event_versions, event_topics, event_states)
            RETURNING notification_id;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION public.glow_append_customers_events(
    answer_keys text[], answer_fingerprints text[], answer_statuses int4[],
    answer_responses bytea[], event_ids uuid[], event_versions int8[], event_topics text[],
    event_states bytea[], lock_timeout_seconds int4
) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(answer_keys) > 0 THEN
        INSERT INTO public.glow_command_answers (idempotency_key, fingerprint, status, response)
        SELECT * FROM unnest(answer_keys, answer_fingerprints, answer_statuses, answer_responses);
    END IF;
    IF cardinality(event_ids) > 0 THEN
        PERFORM set_config('lock_timeout', lock_timeout_seconds || 's', true);
        LOCK TABLE public.customers_events IN EXCLUSIVE MODE;
        NOTIFY customers_events;
        RETURN QUERY
            INSERT INTO public.customers_events
                (originator_id, originator_version, topic, state)
            SELECT * FROM unnest(event_ids, event_versions, event_topics, event_states)
            RETURNING notification_id;
    END IF;
END
$$;
