-- One round trip per commit group (service_layer/recorders.py): the command answers and the
-- events of a group in one implicit transaction, taking the same EXCLUSIVE table lock and
-- sending the same NOTIFY as eventsourcing's PostgresApplicationRecorder, so notification ids
-- still become visible in commit order. Four statements from the client cost the command
-- writer about twice the CPU and 1.7x the wall time of this one call
-- (scripts/bench_group_append.py). One function per event table, from one template, named
-- glow_append_<table> (recorders.append_function).

DO $migration$
DECLARE
    events_table text;
BEGIN
    FOREACH events_table IN ARRAY ARRAY['inventory_events', 'customers_events'] LOOP
        EXECUTE format($template$
            CREATE OR REPLACE FUNCTION public.%1$I(
                answer_keys text[], answer_fingerprints text[], answer_statuses int4[],
                answer_responses bytea[], event_ids uuid[], event_versions int8[],
                event_topics text[], event_states bytea[], lock_timeout_seconds int4
            ) RETURNS SETOF bigint LANGUAGE plpgsql AS $function$
            BEGIN
                IF cardinality(answer_keys) > 0 THEN
                    INSERT INTO public.glow_command_answers
                        (idempotency_key, fingerprint, status, response)
                    SELECT * FROM unnest(
                        answer_keys, answer_fingerprints, answer_statuses, answer_responses);
                END IF;
                IF cardinality(event_ids) > 0 THEN
                    PERFORM set_config('lock_timeout', lock_timeout_seconds || 's', true);
                    LOCK TABLE public.%2$I IN EXCLUSIVE MODE;
                    NOTIFY %2$I;
                    RETURN QUERY
                        INSERT INTO public.%2$I
                            (originator_id, originator_version, topic, state)
                        SELECT * FROM unnest(event_ids, event_versions, event_topics, event_states)
                        RETURNING notification_id;
                END IF;
            END
            $function$
        $template$, 'glow_append_' || events_table, events_table);
    END LOOP;
END
$migration$;
