-- L6 — robbieblocks cms (README 21): pages, components, blocks, design tokens, per-node branding,
-- the change queue and deploy history (7 [global] tables; columns per BLOCKS.md), change capture
-- (durable change row + NOTIFY), page versions, the two CMS views and the page/style read functions.

CREATE TABLE robbieblocks_pages (
  id               uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  page_key         varchar(255) NOT NULL UNIQUE,
  app_namespace    varchar(50)  NOT NULL,
  page_name        varchar(255) NOT NULL,
  page_route       varchar(255) NOT NULL,
  layout_template  varchar(50)  NOT NULL,
  meta_title       varchar(255),
  meta_description text,
  status           varchar(20)  NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'archived')),
  version          integer      NOT NULL DEFAULT 1,
  published_at     timestamptz,
  created_by       uuid         REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  metadata         jsonb        NOT NULL DEFAULT '{}',
  created_at       timestamptz  NOT NULL DEFAULT now(),
  updated_at       timestamptz  NOT NULL DEFAULT now()
);
COMMENT ON TABLE robbieblocks_pages IS 'CMS pages: one page (route + layout) of one app namespace (play, work, code, shared, marketing)';
COMMENT ON COLUMN robbieblocks_pages.version IS 'Bumped by bump_page_version on any page or block change; clients poll it for hot reload';
COMMENT ON COLUMN robbieblocks_pages.published_at IS 'Set by bump_page_version when status becomes published (unless given)';
-- At most one published page per route of an app.
CREATE UNIQUE INDEX robbieblocks_pages_published_route_key
  ON robbieblocks_pages (app_namespace, page_route) WHERE status = 'published';

CREATE TABLE robbieblocks_components (
  id             uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  component_key  varchar(255) NOT NULL UNIQUE,
  component_name varchar(255) NOT NULL,
  component_type varchar(50)  NOT NULL,
  react_code     text         NOT NULL,
  props_schema   jsonb        NOT NULL,
  css_styles     text,
  dependencies   text[]       NOT NULL DEFAULT '{}',
  version        varchar(20)  NOT NULL DEFAULT '1.0.0',
  is_published   boolean      NOT NULL DEFAULT false,
  preview_url    varchar(500),
  created_by     uuid         REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  metadata       jsonb        NOT NULL DEFAULT '{}',
  created_at     timestamptz  NOT NULL DEFAULT now(),
  updated_at     timestamptz  NOT NULL DEFAULT now()
);
COMMENT ON TABLE robbieblocks_components IS 'CMS component library: React source kept as data, with props JSON Schema and styles';
COMMENT ON COLUMN robbieblocks_components.component_key IS 'Kebab-case (robbie-bar); the builder derives the PascalCase identifier';
COMMENT ON COLUMN robbieblocks_components.dependencies IS 'npm package names; the builder accepts only its allow-list';

CREATE TABLE robbieblocks_page_blocks (
  id           uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  page_id      uuid        NOT NULL REFERENCES robbieblocks_pages (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  component_id uuid        NOT NULL REFERENCES robbieblocks_components (id) ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE,
  block_order  integer     NOT NULL,
  zone         varchar(50) NOT NULL CHECK (zone IN ('header', 'sidebar', 'main', 'footer', 'overlay')),
  props        jsonb       NOT NULL DEFAULT '{}',
  conditions   jsonb       NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  -- deferrable so that blocks can be reordered inside one transaction
  CONSTRAINT robbieblocks_page_blocks_page_id_block_order_key UNIQUE (page_id, block_order)
    DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE robbieblocks_page_blocks IS 'Which component sits where (zone, order, props) on a CMS page';
COMMENT ON COLUMN robbieblocks_page_blocks.conditions IS 'Show/hide rules (format not defined yet; the builder rejects non-empty)';

CREATE TABLE robbieblocks_style_tokens (
  id             uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  token_key      varchar(255) NOT NULL UNIQUE,
  token_category varchar(50)  NOT NULL CHECK (token_category IN ('color', 'font', 'spacing', 'shadow', 'animation')),
  default_value  text         NOT NULL,
  description    text,
  created_at     timestamptz  NOT NULL DEFAULT now(),
  updated_at     timestamptz  NOT NULL DEFAULT now()
);
COMMENT ON TABLE robbieblocks_style_tokens IS 'Global design tokens (color.primary, font.body, ...) with their base values';

CREATE TABLE robbieblocks_node_branding (
  id              uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  node_id         uuid         NOT NULL UNIQUE REFERENCES nodes (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  display_name    varchar(255) NOT NULL,
  theme           text         NOT NULL DEFAULT 'dark' CHECK (theme IN ('dark', 'light')),
  style_overrides jsonb        NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(style_overrides) = 'object'),
  enabled_apps    text[]       NOT NULL DEFAULT '{}',
  custom_css      text,
  custom_scripts  text,
  allow_scripts   boolean      NOT NULL DEFAULT false,
  created_at      timestamptz  NOT NULL DEFAULT now(),
  updated_at      timestamptz  NOT NULL DEFAULT now()
);
COMMENT ON TABLE robbieblocks_node_branding IS 'Per-node theme and app selection; effective tokens = base tokens overlaid with style_overrides';
COMMENT ON COLUMN robbieblocks_node_branding.style_overrides IS 'Object token_key → value; every key must be a robbieblocks_style_tokens.token_key';
COMMENT ON COLUMN robbieblocks_node_branding.custom_scripts IS 'Used only when allow_scripts is true';

CREATE TABLE robbieblocks_change_triggers (
  id                uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  trigger_type      varchar(50) NOT NULL
                    CHECK (trigger_type IN ('page_update', 'component_update', 'style_change', 'branding_change')),
  entity_type       varchar(50) NOT NULL
                    CHECK (entity_type IN ('page', 'page_block', 'component', 'style_token', 'node_branding')),
  entity_id         uuid        NOT NULL,
  affected_apps     text[]      NOT NULL DEFAULT '{}',
  affected_node_ids uuid[]      NOT NULL DEFAULT '{}',
  auto_deploy       boolean     NOT NULL DEFAULT true,
  processed_at      timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE robbieblocks_change_triggers IS 'Durable queue of CMS content changes that may need rebuilds (node-local, never replicated)';
COMMENT ON COLUMN robbieblocks_change_triggers.entity_id IS 'Id of the changed row (kept for deleted rows)';
COMMENT ON COLUMN robbieblocks_change_triggers.affected_apps IS 'Hint; empty = every app';
COMMENT ON COLUMN robbieblocks_change_triggers.affected_node_ids IS 'Hint; empty = every node whose enabled_apps intersect affected_apps';
COMMENT ON COLUMN robbieblocks_change_triggers.processed_at IS 'Set by the builder once the deploys for this change are queued';

CREATE TABLE robbieblocks_deploys (
  id                   uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  node_id              uuid        NOT NULL REFERENCES nodes (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  app_namespace        varchar(50) NOT NULL,
  change_trigger_id    uuid        REFERENCES robbieblocks_change_triggers (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  build_hash           varchar(64),
  pages_count          integer,
  components_count     integer,
  deploy_status        varchar(20) NOT NULL DEFAULT 'pending'
                       CHECK (deploy_status IN ('pending', 'building', 'deploying', 'success', 'failed', 'skipped')),
  triggered_by         varchar(50) NOT NULL
                       CHECK (triggered_by IN ('page_change', 'component_update', 'style_change', 'branding_change',
                                               'manual', 'schedule', 'rollback')),
  triggered_by_user_id uuid        REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  started_at           timestamptz,
  completed_at         timestamptz,
  build_duration_ms    integer,
  deploy_duration_ms   integer,
  error_message        text,
  build_log            text,
  release_id           text,
  artifact_bytes       bigint,
  builder_version      text,
  rollback_of          uuid        REFERENCES robbieblocks_deploys (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  claimed_by           text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE robbieblocks_deploys IS 'Build/deploy history, one row per (node, app) build; created_at = queued';
COMMENT ON COLUMN robbieblocks_deploys.build_hash IS 'SHA-256 of the build inputs; skipped = equal to the live release';
COMMENT ON COLUMN robbieblocks_deploys.claimed_by IS 'Builder instance that claimed the row';
-- At most one active build per node and app.
CREATE UNIQUE INDEX robbieblocks_deploys_active_key
  ON robbieblocks_deploys (node_id, app_namespace) WHERE deploy_status IN ('pending', 'building', 'deploying');

-- ---------------------------------------------------------------------------------------------
-- Branding override keys must be style tokens. Constraint triggers, DEFERRABLE like the foreign
-- keys, so a sync batch may bring a new token and the branding that uses it in either order.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION check_branding_overrides() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_bad text;
  v_node uuid;
BEGIN
  IF TG_TABLE_NAME = 'robbieblocks_node_branding' THEN
    -- re-read the row: with a deferred check the row may have changed since
    SELECT k, b.node_id INTO v_bad, v_node
      FROM robbieblocks_node_branding b, jsonb_object_keys(b.style_overrides) AS k
     WHERE b.id = NEW.id
       AND NOT EXISTS (SELECT 1 FROM robbieblocks_style_tokens t WHERE t.token_key = k)
     LIMIT 1;
    IF v_bad IS NOT NULL THEN
      RAISE EXCEPTION 'robbieblocks_node_branding.style_overrides of node % names unknown style token "%"', v_node, v_bad
        USING ERRCODE = 'foreign_key_violation', TABLE = 'robbieblocks_node_branding',
              HINT = 'override keys must be token_key values of robbieblocks_style_tokens';
    END IF;
  ELSE
    -- robbieblocks_style_tokens: a key that disappears must not be overridden anywhere
    IF TG_OP = 'UPDATE' AND NEW.token_key = OLD.token_key THEN
      RETURN NULL;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM robbieblocks_style_tokens WHERE token_key = OLD.token_key) THEN
      SELECT b.node_id INTO v_node
        FROM robbieblocks_node_branding b
       WHERE b.style_overrides ? OLD.token_key
       LIMIT 1;
      IF v_node IS NOT NULL THEN
        RAISE EXCEPTION 'style token "%" is still overridden by the branding of node %', OLD.token_key, v_node
          USING ERRCODE = 'foreign_key_violation', TABLE = 'robbieblocks_style_tokens',
                HINT = 'remove the key from robbieblocks_node_branding.style_overrides first';
      END IF;
    END IF;
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION check_branding_overrides() IS
  'Constraint trigger: every robbieblocks_node_branding.style_overrides key is an existing style token';

CREATE CONSTRAINT TRIGGER robbieblocks_node_branding_overrides_check
  AFTER INSERT OR UPDATE ON robbieblocks_node_branding
  DEFERRABLE INITIALLY IMMEDIATE
  FOR EACH ROW EXECUTE FUNCTION check_branding_overrides();

CREATE CONSTRAINT TRIGGER robbieblocks_style_tokens_overrides_check
  AFTER UPDATE OR DELETE ON robbieblocks_style_tokens
  DEFERRABLE INITIALLY IMMEDIATE
  FOR EACH ROW EXECUTE FUNCTION check_branding_overrides();

-- ---------------------------------------------------------------------------------------------
-- Page versions. On pages (BEFORE INSERT OR UPDATE): version + 1 when a content column changes
-- and the writer did not set version itself (a row applied by sync keeps its version);
-- published_at is stamped when status becomes published. On page_blocks (AFTER INSERT, UPDATE,
-- DELETE): the old and new parent pages get version + 1.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION bump_page_version() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_old jsonb;
  v_new jsonb;
BEGIN
  IF TG_TABLE_NAME = 'robbieblocks_pages' THEN
    IF TG_OP = 'INSERT' THEN
      IF NEW.status = 'published' AND NEW.published_at IS NULL THEN
        NEW.published_at := now();
      END IF;
      RETURN NEW;
    END IF;
    IF NEW.status = 'published' AND OLD.status IS DISTINCT FROM 'published'
       AND NEW.published_at IS NOT DISTINCT FROM OLD.published_at THEN
      NEW.published_at := now();
    END IF;
    IF NEW.version = OLD.version
       AND (to_jsonb(NEW) - 'version' - 'updated_at' - 'published_at' - 'created_at')
           IS DISTINCT FROM (to_jsonb(OLD) - 'version' - 'updated_at' - 'published_at' - 'created_at') THEN
      NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
  END IF;

  -- robbieblocks_page_blocks
  v_old := to_jsonb(OLD);
  v_new := to_jsonb(NEW);
  IF TG_OP = 'UPDATE' AND (v_old - 'updated_at') = (v_new - 'updated_at') THEN
    RETURN NULL;
  END IF;
  UPDATE robbieblocks_pages
     SET version = version + 1
   WHERE id IN ((v_old ->> 'page_id')::uuid, (v_new ->> 'page_id')::uuid);
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION bump_page_version() IS
  'Pages: BEFORE INSERT/UPDATE, version + 1 on content change, published_at on publish; page_blocks: AFTER INSERT/UPDATE/DELETE, bumps the parent pages';

CREATE TRIGGER robbieblocks_pages_bump_version
  BEFORE INSERT OR UPDATE ON robbieblocks_pages
  FOR EACH ROW EXECUTE FUNCTION bump_page_version();

CREATE TRIGGER robbieblocks_page_blocks_bump_version
  AFTER INSERT OR UPDATE OR DELETE ON robbieblocks_page_blocks
  FOR EACH ROW EXECUTE FUNCTION bump_page_version();

-- ---------------------------------------------------------------------------------------------
-- Change capture (BLOCKS.md §2.5). One AFTER INSERT/UPDATE/DELETE row trigger on pages,
-- page_blocks, components, style_tokens and node_branding. Each captured change writes one
-- robbieblocks_change_triggers row in the same transaction (the record) and sends
-- pg_notify('robbieblocks_change', {change_trigger_id, trigger_type, entity_type, entity_id,
-- affected_apps, affected_node_ids}) (a hint, delivered at commit only). Hints come from the old
-- and the new row. Skipped, judged on both rows, are only changes that cannot alter published
-- output: a page that was and stays unpublished, a block whose old and new parent pages are both
-- unpublished, a component that was and stays unpublished or is used by no published page, and
-- updates that change nothing but updated_at (and, on pages, the version counter).
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION notify_robbieblocks_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_old          jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
  v_new          jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
  v_row          jsonb;
  v_trigger_type text;
  v_entity_type  text;
  v_entity_id    uuid;
  v_apps         text[] := '{}';
  v_nodes        uuid[] := '{}';
  v_change_id    uuid;
BEGIN
  v_row := coalesce(v_new, v_old);
  v_entity_id := (v_row ->> 'id')::uuid;

  IF TG_OP = 'UPDATE' THEN
    IF TG_TABLE_NAME = 'robbieblocks_pages' THEN
      IF (v_old - 'updated_at' - 'version') = (v_new - 'updated_at' - 'version') THEN
        RETURN NULL;
      END IF;
    ELSIF (v_old - 'updated_at') = (v_new - 'updated_at') THEN
      RETURN NULL;
    END IF;
  END IF;

  CASE TG_TABLE_NAME
    WHEN 'robbieblocks_pages' THEN
      v_trigger_type := 'page_update';
      v_entity_type := 'page';
      IF (v_old ->> 'status') IS DISTINCT FROM 'published' AND (v_new ->> 'status') IS DISTINCT FROM 'published' THEN
        RETURN NULL;
      END IF;
      SELECT coalesce(array_agg(DISTINCT a), '{}') INTO v_apps
        FROM unnest(ARRAY[v_old ->> 'app_namespace', v_new ->> 'app_namespace']) AS a
       WHERE a IS NOT NULL;

    WHEN 'robbieblocks_page_blocks' THEN
      v_trigger_type := 'page_update';
      v_entity_type := 'page_block';
      SELECT array_agg(DISTINCT p.app_namespace) INTO v_apps
        FROM robbieblocks_pages p
       WHERE p.id IN ((v_old ->> 'page_id')::uuid, (v_new ->> 'page_id')::uuid)
         AND p.status = 'published';
      IF v_apps IS NULL THEN
        RETURN NULL;
      END IF;

    WHEN 'robbieblocks_components' THEN
      v_trigger_type := 'component_update';
      v_entity_type := 'component';
      IF NOT (coalesce((v_old ->> 'is_published')::boolean, false)
              OR coalesce((v_new ->> 'is_published')::boolean, false)) THEN
        RETURN NULL;
      END IF;
      SELECT array_agg(DISTINCT p.app_namespace) INTO v_apps
        FROM robbieblocks_page_blocks b
        JOIN robbieblocks_pages p ON p.id = b.page_id
       WHERE b.component_id = v_entity_id
         AND p.status = 'published';
      IF v_apps IS NULL THEN
        RETURN NULL;
      END IF;

    WHEN 'robbieblocks_style_tokens' THEN
      v_trigger_type := 'style_change';
      v_entity_type := 'style_token';
      -- empty hints: every app on every node

    WHEN 'robbieblocks_node_branding' THEN
      v_trigger_type := 'branding_change';
      v_entity_type := 'node_branding';
      SELECT coalesce(array_agg(DISTINCT a), '{}') INTO v_apps
        FROM (SELECT jsonb_array_elements_text(coalesce(v_old -> 'enabled_apps', '[]'))
              UNION ALL
              SELECT jsonb_array_elements_text(coalesce(v_new -> 'enabled_apps', '[]'))) AS s(a);
      SELECT coalesce(array_agg(DISTINCT n), '{}') INTO v_nodes
        FROM unnest(ARRAY[(v_old ->> 'node_id')::uuid, (v_new ->> 'node_id')::uuid]) AS n
       WHERE n IS NOT NULL;

    ELSE
      RAISE EXCEPTION 'notify_robbieblocks_change: unexpected table %', TG_TABLE_NAME;
  END CASE;

  INSERT INTO robbieblocks_change_triggers (trigger_type, entity_type, entity_id, affected_apps, affected_node_ids)
  VALUES (v_trigger_type, v_entity_type, v_entity_id, v_apps, v_nodes)
  RETURNING id INTO v_change_id;

  PERFORM pg_notify('robbieblocks_change', jsonb_build_object(
    'change_trigger_id', v_change_id,
    'trigger_type', v_trigger_type,
    'entity_type', v_entity_type,
    'entity_id', v_entity_id,
    'affected_apps', to_jsonb(v_apps),
    'affected_node_ids', to_jsonb(v_nodes))::text);
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION notify_robbieblocks_change() IS
  'AFTER INSERT/UPDATE/DELETE on the CMS content tables: one robbieblocks_change_triggers row (same transaction) + NOTIFY robbieblocks_change';

CREATE TRIGGER robbieblocks_pages_notify_change
  AFTER INSERT OR UPDATE OR DELETE ON robbieblocks_pages
  FOR EACH ROW EXECUTE FUNCTION notify_robbieblocks_change();
CREATE TRIGGER robbieblocks_page_blocks_notify_change
  AFTER INSERT OR UPDATE OR DELETE ON robbieblocks_page_blocks
  FOR EACH ROW EXECUTE FUNCTION notify_robbieblocks_change();
CREATE TRIGGER robbieblocks_components_notify_change
  AFTER INSERT OR UPDATE OR DELETE ON robbieblocks_components
  FOR EACH ROW EXECUTE FUNCTION notify_robbieblocks_change();
CREATE TRIGGER robbieblocks_style_tokens_notify_change
  AFTER INSERT OR UPDATE OR DELETE ON robbieblocks_style_tokens
  FOR EACH ROW EXECUTE FUNCTION notify_robbieblocks_change();
CREATE TRIGGER robbieblocks_node_branding_notify_change
  AFTER INSERT OR UPDATE OR DELETE ON robbieblocks_node_branding
  FOR EACH ROW EXECUTE FUNCTION notify_robbieblocks_change();

-- ---------------------------------------------------------------------------------------------
-- Read functions and views
-- ---------------------------------------------------------------------------------------------

-- A published page with its blocks (each with its component) in block_order; NULL otherwise.
CREATE FUNCTION get_page_config(p_page_key text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
           'page', to_jsonb(p),
           'blocks', coalesce((
             SELECT jsonb_agg(jsonb_build_object('block', to_jsonb(b), 'component', to_jsonb(c))
                              ORDER BY b.block_order)
               FROM robbieblocks_page_blocks b
               JOIN robbieblocks_components c ON c.id = b.component_id
              WHERE b.page_id = p.id), '[]'::jsonb))
    FROM robbieblocks_pages p
   WHERE p.page_key = p_page_key
     AND p.status = 'published'
$$;
COMMENT ON FUNCTION get_page_config(text) IS
  'Published page as {page, blocks: [{block, component}] ordered by block_order}; NULL if no such published page';

-- Theme of a node: base tokens, its overrides and the effective map; NULL without a branding row.
CREATE FUNCTION get_node_styles(p_node_key text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
           'node_key', n.node_key,
           'theme', b.theme,
           'base_tokens', t.base,
           'overrides', b.style_overrides,
           'effective', t.base || b.style_overrides,
           'enabled_apps', to_jsonb(b.enabled_apps))
    FROM nodes n
    JOIN robbieblocks_node_branding b ON b.node_id = n.id
   CROSS JOIN (SELECT coalesce(jsonb_object_agg(token_key, default_value), '{}'::jsonb) AS base
                 FROM robbieblocks_style_tokens) t
   WHERE n.node_key = p_node_key
$$;
COMMENT ON FUNCTION get_node_styles(text) IS
  'Node theme as {node_key, theme, base_tokens, overrides, effective, enabled_apps}; NULL if the node has no branding';

CREATE VIEW robbieblocks_active_deploys WITH (security_invoker = true) AS
SELECT d.id,
       d.node_id,
       n.node_key,
       d.app_namespace,
       d.deploy_status,
       d.triggered_by,
       d.change_trigger_id,
       d.created_at AS queued_at,
       d.started_at,
       floor(extract(epoch FROM now() - coalesce(d.started_at, d.created_at)))::integer AS running_seconds,
       d.build_duration_ms,
       d.deploy_duration_ms
  FROM robbieblocks_deploys d
  JOIN nodes n ON n.id = d.node_id
 WHERE d.deploy_status IN ('pending', 'building', 'deploying')
 ORDER BY d.created_at;
COMMENT ON VIEW robbieblocks_active_deploys IS 'Deploys queued (pending) or running (building, deploying), oldest first';

CREATE VIEW robbieblocks_published_pages WITH (security_invoker = true) AS
SELECT p.app_namespace,
       count(DISTINCT p.id)           AS page_count,
       count(DISTINCT b.component_id) AS component_count,
       max(p.updated_at)              AS last_update
  FROM robbieblocks_pages p
  LEFT JOIN robbieblocks_page_blocks b ON b.page_id = p.id
 WHERE p.status = 'published'
 GROUP BY p.app_namespace;
COMMENT ON VIEW robbieblocks_published_pages IS 'Per app namespace: published pages, distinct components they use, last page change';
