-- L0 — extensions and the shared functions every later module uses.
-- Optional extensions are created only where the server has them (see `-- @if` sections).

-- @if vector
CREATE EXTENSION IF NOT EXISTS vector;
-- @end

-- @if pg_trgm
CREATE EXTENSION IF NOT EXISTS pg_trgm;
-- @end

-- @if pgcrypto
CREATE EXTENSION IF NOT EXISTS pgcrypto;
-- @end

-- The one updated_at trigger function of the schema.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION set_updated_at() IS 'BEFORE UPDATE trigger: keeps updated_at current';

-- The tenant of the current transaction. Once a connection has set app.org_id, later reads
-- return '' rather than NULL, hence nullif: an unset tenant is NULL and sees no rows.
CREATE FUNCTION app_current_org_id() RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('app.org_id', true), '')::uuid
$$;
COMMENT ON FUNCTION app_current_org_id() IS 'Organization of the current transaction (setting app.org_id), NULL when unset';

CREATE FUNCTION app_current_user_id() RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('app.user_id', true), '')::uuid
$$;
COMMENT ON FUNCTION app_current_user_id() IS 'User of the current transaction (setting app.user_id), NULL when unset';

-- @if !vector
-- Without pgvector, embeddings are real[] and similarity is computed exactly.
CREATE FUNCTION cosine_similarity(a real[], b real[]) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN norm_a = 0 OR norm_b = 0 THEN NULL ELSE dot / (sqrt(norm_a) * sqrt(norm_b)) END
  FROM (
    SELECT sum(x::double precision * y) AS dot,
           sum(x::double precision * x) AS norm_a,
           sum(y::double precision * y) AS norm_b
    FROM unnest(a, b) AS t(x, y)
  ) s
$$;
COMMENT ON FUNCTION cosine_similarity(real[], real[]) IS 'Exact cosine similarity for real[] embeddings (used when pgvector is absent)';
-- @end
