-- Idempotency keys are scoped per caller: an answer is stored under
-- subject || chr(31) || channel || chr(31) || key (service_layer/command_answers.py), so one
-- caller's keys can neither replay, block nor reveal another's. Answers stored before are
-- rewritten to the scope of the caller whose command recorded events under that key (the
-- events' trace names its principal and channel), so a retry by that caller still replays.
-- An answer whose command recorded no event (it changed nothing) keeps its bare key, which
-- no caller's scoped key can match: a retry of it is decided again, harmlessly.
CREATE FUNCTION pg_temp.glow_event_trace(state bytea) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN convert_from(state, 'UTF8')::jsonb #> '{trace,_data_}';
EXCEPTION WHEN others THEN
    RETURN NULL;  -- a state that is not plain JSON carries no trace we can read
END
$$;

WITH traces AS (
    SELECT pg_temp.glow_event_trace(state) AS trace FROM public.inventory_events
    UNION ALL
    SELECT pg_temp.glow_event_trace(state) AS trace FROM public.customers_events
), callers AS (
    SELECT DISTINCT ON (trace ->> 'idempotency_key')
           trace ->> 'idempotency_key' AS bare_key,
           trace ->> 'principal' AS subject,
           trace ->> 'channel' AS channel
    FROM traces
    WHERE trace ->> 'idempotency_key' IS NOT NULL
)
UPDATE public.glow_command_answers AS answers
SET idempotency_key = callers.subject || chr(31) || callers.channel || chr(31) || answers.idempotency_key
FROM callers
WHERE answers.idempotency_key = callers.bare_key
  AND strpos(answers.idempotency_key, chr(31)) = 0
  AND callers.subject IS NOT NULL
  AND callers.channel IS NOT NULL;
