-- L23 — ai usage & costs (merge-strategy layer 8).
-- One row per model call (ai_model_usage, append-only) and its daily rollup per model (ai_costs),
-- refreshed by refresh_ai_costs().

CREATE TABLE ai_model_usage (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id uuid REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  model_name text NOT NULL,
  model_provider text NOT NULL,
  task_type text CHECK (task_type IN ('chat', 'embedding', 'image', 'code', 'analysis', 'other')),
  conversation_id uuid,
  personality_id uuid REFERENCES ai_personalities (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  node_id uuid REFERENCES nodes (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  input_tokens integer NOT NULL DEFAULT 0,
  output_tokens integer NOT NULL DEFAULT 0,
  total_tokens integer GENERATED ALWAYS AS (input_tokens + output_tokens) STORED,
  cost_usd numeric(10,6),
  latency_ms integer,
  success boolean NOT NULL DEFAULT true,
  error_message text,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ai_model_usage_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT ai_model_usage_conversation_id_fkey FOREIGN KEY (org_id, conversation_id)
    REFERENCES conversations (org_id, id) ON DELETE SET NULL (conversation_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE ai_model_usage IS 'One row per AI model call: tokens, cost, latency, serving node (append-only)';
COMMENT ON COLUMN ai_model_usage.node_id IS 'GPU node that served the call';

CREATE TABLE ai_costs (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  date date NOT NULL,
  model_name text NOT NULL,
  model_provider text,
  total_requests integer NOT NULL DEFAULT 0,
  total_tokens bigint NOT NULL DEFAULT 0,
  total_cost_usd numeric(12,4) NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ai_costs_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT ai_costs_org_id_date_model_name_key UNIQUE (org_id, date, model_name)
);
COMMENT ON TABLE ai_costs IS 'Daily rollup of ai_model_usage per organization and model (UTC days)';

-- Upserts the rollup of one UTC day from ai_model_usage, for every organization the caller can
-- see (RLS applies: the app role refreshes its own organization, the scheduler all of them).
-- Returns the number of ai_costs rows written.
CREATE FUNCTION refresh_ai_costs(p_date date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_from timestamptz := p_date::timestamp AT TIME ZONE 'UTC';
  v_to timestamptz := (p_date + 1)::timestamp AT TIME ZONE 'UTC';
  v_count integer;
BEGIN
  IF p_date IS NULL THEN
    RAISE EXCEPTION 'refresh_ai_costs: p_date must not be NULL' USING ERRCODE = '22004';
  END IF;
  INSERT INTO ai_costs AS c (org_id, date, model_name, model_provider, total_requests, total_tokens, total_cost_usd)
  SELECT u.org_id,
         p_date,
         u.model_name,
         CASE WHEN count(DISTINCT u.model_provider) = 1 THEN min(u.model_provider)
              ELSE string_agg(DISTINCT u.model_provider, ',') END,
         count(*)::integer,
         coalesce(sum(u.total_tokens), 0)::bigint,
         coalesce(sum(u.cost_usd), 0)
    FROM ai_model_usage u
   WHERE u.created_at >= v_from
     AND u.created_at < v_to
   GROUP BY u.org_id, u.model_name
  ON CONFLICT (org_id, date, model_name) DO UPDATE
    SET model_provider = EXCLUDED.model_provider,
        total_requests = EXCLUDED.total_requests,
        total_tokens = EXCLUDED.total_tokens,
        total_cost_usd = EXCLUDED.total_cost_usd,
        updated_at = now();
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count;
END
$$;
COMMENT ON FUNCTION refresh_ai_costs(date) IS 'Upserts the ai_costs rollup of one UTC day from ai_model_usage; returns rows written';
