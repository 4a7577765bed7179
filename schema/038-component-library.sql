-- L38 — the RobbieBlocks component library is reference data of the schema (BLOCKS.md §3).
-- * robbieblocks_register_components(components, publish) writes the bundled components (blocks/)
--   into robbieblocks_components. Its argument is generated from blocks/ (database/component-library.sql,
--   appended to the psql bundle; the runner and registerComponentLibrary() pass the same
--   expression after migrations), so the library can change with the code while this file, like
--   every migration, never changes.
-- * A component new here gets the id reference_uuid('robbieblocks_components', key): the same in
--   every database. An existing row keeps its id and is updated only when something differs, so
--   an unchanged library writes nothing (no updated_at bump, no change hint, nothing captured).
-- * A database that joined a sync network as a node writes nothing: robbieblocks_components is
--   hub → node (read-only there), and the node receives the library from the master, where the
--   registration is an ordinary, captured write.

CREATE FUNCTION robbieblocks_register_components(p_components jsonb, p_publish boolean DEFAULT true)
RETURNS TABLE (component_key text, outcome text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_role text;
BEGIN
  IF jsonb_typeof(p_components) IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'robbieblocks_register_components: expected a JSON array of components, got %', jsonb_typeof(p_components)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- sync.local exists from 031 on; read it dynamically all the same, so the function never
  -- depends on it at plan time.
  IF to_regclass('sync.local') IS NOT NULL THEN
    EXECUTE 'SELECT role FROM sync.local' INTO v_role;
  END IF;
  IF v_role = 'node' THEN
    RETURN QUERY SELECT c ->> 'key', 'skipped'::text FROM jsonb_array_elements(p_components) c;
    RETURN;
  END IF;
  RETURN QUERY
  WITH src AS (
    SELECT e.ord, e.c ->> 'key' AS key, e.c ->> 'name' AS name, e.c ->> 'type' AS type, e.c ->> 'react_code' AS react_code,
           e.c -> 'props_schema' AS props_schema, e.c ->> 'css_styles' AS css_styles,
           ARRAY(SELECT jsonb_array_elements_text(coalesce(e.c -> 'dependencies', '[]'))) AS dependencies,
           coalesce(e.c ->> 'version', '1.0.0') AS version,
           jsonb_build_object('library', 'robbieblocks', 'description', e.c ->> 'description') AS metadata
      FROM jsonb_array_elements(p_components) WITH ORDINALITY e(c, ord)
  ), written AS (
    INSERT INTO robbieblocks_components AS t
           (id, component_key, component_name, component_type, react_code, props_schema, css_styles, dependencies, version,
            is_published, metadata)
    SELECT reference_uuid('robbieblocks_components', s.key), s.key, s.name, s.type, s.react_code, s.props_schema, s.css_styles,
           s.dependencies, s.version, p_publish, s.metadata
      FROM src s ORDER BY s.ord
    ON CONFLICT (component_key) DO UPDATE
       SET component_name = EXCLUDED.component_name, component_type = EXCLUDED.component_type, react_code = EXCLUDED.react_code,
           props_schema = EXCLUDED.props_schema, css_styles = EXCLUDED.css_styles, dependencies = EXCLUDED.dependencies,
           version = EXCLUDED.version, is_published = EXCLUDED.is_published, metadata = t.metadata || EXCLUDED.metadata
     WHERE (t.component_name, t.component_type, t.react_code, t.props_schema, t.css_styles, t.dependencies, t.version, t.is_published)
           IS DISTINCT FROM
           (EXCLUDED.component_name, EXCLUDED.component_type, EXCLUDED.react_code, EXCLUDED.props_schema, EXCLUDED.css_styles,
            EXCLUDED.dependencies, EXCLUDED.version, EXCLUDED.is_published)
        OR NOT t.metadata @> EXCLUDED.metadata
    RETURNING t.component_key::text AS key, (t.xmax = 0) AS inserted
  )
  SELECT s.key, CASE WHEN w.key IS NULL THEN 'unchanged' WHEN w.inserted THEN 'inserted' ELSE 'updated' END
    FROM src s LEFT JOIN written w ON w.key = s.key
   ORDER BY s.ord;
END
$$;
COMMENT ON FUNCTION robbieblocks_register_components(jsonb, boolean) IS
  'Upserts the bundled component library (JSON array of {key, name, type, version, dependencies, description, react_code, '
  'css_styles, props_schema}); new rows get reference_uuid ids, unchanged rows are not written; '
  'skipped (writes nothing) on a sync node. Returns (component_key, outcome: inserted | updated | unchanged | skipped)';
