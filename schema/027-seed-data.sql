-- Seed data (SCHEMA.md "Seed data", Rule 8; runs after L26 indexes & policies).
-- Holds: Default Organization, towns, nodes, embedding models, AI personalities + state, personality_settings
-- defaults, deal stages, RobbieBlocks style tokens + node branding, simulation templates, engagement rules,
-- system_config keys, RBAC permissions + role matrix. Idempotent upserts on natural keys; no users, no credentials.

-- Default Organization: the only fixed id (other seeds and legacy defaults find it by this id).
INSERT INTO organizations (id, name, org_type, status, settings)
VALUES ('00000000-0000-4000-8000-000000000001', 'Default Organization', 'personal', 'active', '{}')
ON CONFLICT (id) DO NOTHING;

-- Towns of the Default Organization (key org_id + slug).
INSERT INTO towns (org_id, slug, name, region, description)
SELECT '00000000-0000-4000-8000-000000000001'::uuid, v.slug, v.name, v.region, v.description
FROM (VALUES
  ('aurora',        'Aurora (Capital)',         'iceland', 'Capital town; main GPU site'),
  ('fluenti',       'Fluenti',                  'us',      'US operations'),
  ('collaboration', 'Collaboration',            'iceland', 'Development and testing'),
  ('vengeance',     'Vengeance (Private@Home)', 'home',    'Private local development')
) AS v (slug, name, region, description)
ON CONFLICT (org_id, slug) DO NOTHING;

-- Node registry (key node_key). Offline until the sync service sees them; no IPs, no connection data.
INSERT INTO nodes (node_key, name, node_type, machine_type, location, is_online)
VALUES
  ('master-elestio',      'Elestio Master Database',    'master',  'server',      'hosted (Elestio)', false),
  ('aurora-town-local',   'Aurora Town Local Replica',  'replica', 'server',      'iceland',          false),
  ('vengeance-local',     'Vengeance Local Replica',    'replica', 'gaming_pc',   'home',             false),
  ('collaboration-local', 'Collaboration Local Replica', 'replica', 'server',     'iceland',          false),
  ('fluenti-local',       'Fluenti Local Replica',      'replica', 'server',      'us',               false),
  ('robbiebook1',         'RobbieBook1',                'edge',    'macbook_pro', 'mobile',           false)
ON CONFLICT (node_key) DO NOTHING;

-- Embedding models (key model_key). is_default is only claimed if no other model is already the default,
-- so a re-seed after an admin changed the default neither fails nor overrides it.
INSERT INTO embedding_models (model_key, provider, dimensions, distance_metric, is_default, index_enabled)
SELECT v.model_key, v.provider, v.dimensions, v.distance_metric,
       v.is_default AND NOT EXISTS (SELECT 1 FROM embedding_models m WHERE m.is_default),
       v.index_enabled
FROM (VALUES
  ('nomic-embed-text',       'ollama', 768,  'cosine', true,  true),
  ('all-minilm',             'ollama', 384,  'cosine', false, true),
  ('text-embedding-3-small', 'openai', 1536, 'cosine', false, true),
  ('text-embedding-ada-002', 'openai', 1536, 'cosine', false, false)
) AS v (model_key, provider, dimensions, distance_metric, is_default, index_enabled)
ON CONFLICT (model_key) DO NOTHING;

-- AI personalities (key slug). personality_prompt stays NULL: the app supplies prompts.
INSERT INTO ai_personalities (slug, name, role, description, interaction_style, base_traits, is_active)
VALUES
  ('robbie', 'Robbie', 'assistant', 'Executive assistant and strategic partner', 'playful',
   '{"traits": ["direct", "revenue-focused", "pragmatic", "honest", "curious"], "style": "concise and actionable"}', true),
  ('steve-jobs', 'Steve Jobs', 'mentor', 'Product and vision mentor', 'mentor',
   '{"traits": ["visionary", "demanding", "focused", "excellence-driven"], "style": "challenging and inspiring"}', true),
  ('bookkeeper', 'Bookkeeper', 'specialist', 'Financial tracking and analysis', 'professional',
   '{"traits": ["precise", "detail-oriented", "data-driven"], "style": "factual and clear"}', true),
  ('gatekeeper', 'Gatekeeper', 'gatekeeper', 'Permission and security management', 'formal',
   '{"traits": ["cautious", "thorough", "protective"], "style": "formal and clear"}', true)
ON CONFLICT (slug) DO NOTHING;

-- Network-wide baseline state per personality (key personality_id, found by slug).
INSERT INTO ai_personality_state (personality_id, current_mood, current_mode, energy_level, focus_state)
SELECT p.id, v.current_mood, v.current_mode, v.energy_level, v.focus_state
FROM (VALUES
  ('robbie',     4, 'professional', 'normal', 'available'),
  ('steve-jobs', 5, 'mentoring',    'normal', 'available'),
  ('bookkeeper', 4, 'analytical',   'normal', 'available'),
  ('gatekeeper', 4, 'vigilant',     'normal', 'available')
) AS v (slug, current_mood, current_mode, energy_level, focus_state)
JOIN ai_personalities p ON p.slug = v.slug
ON CONFLICT (personality_id) DO NOTHING;

-- Platform defaults for the personality dials: the one row with user_id NULL (new users copy it).
-- Its uniqueness is a partial index on the NULL row, which ON CONFLICT cannot name portably, hence the
-- NOT EXISTS guard (plus a target-less DO NOTHING for a concurrent seeder).
INSERT INTO personality_settings (user_id, flirt_mode, gandhi_genghis, genghis_gandhi_intensity,
                                  cocktail_lightning_energy, current_mood, current_expression, personality_mode)
SELECT NULL, 5, 5, 50, 50, 'neutral', 'friendly', 'professional'
WHERE NOT EXISTS (SELECT 1 FROM personality_settings WHERE user_id IS NULL)
ON CONFLICT DO NOTHING;

-- Ordered sales pipeline (key code). external_aliases map HubSpot / legacy / UI stage names onto a stage.
INSERT INTO deal_stages (stage_order, code, name, default_probability, is_closed, is_won, external_aliases, description)
VALUES
  (10, 'AWARENESS',   'Awareness',   10,  false, false, '{awareness}',                                'Prospect knows about us; default stage of a new deal'),
  (20, 'ENGAGE',      'Engage',      20,  false, false, '{engage,appointmentscheduled}',              'Two-way conversation started; first meeting set'),
  (30, 'QUALIFY',     'Qualify',     30,  false, false, '{qualify,qualified,qualifiedtobuy}',         'Need, budget and decision maker confirmed'),
  (40, 'PROPOSE',     'Propose',     50,  false, false, '{propose,proposal,presentationscheduled}',   'Proposal or presentation delivered'),
  (50, 'PROVE',       'Prove',       70,  false, false, '{prove,decisionmakerboughtin}',              'Value proven; decision maker bought in'),
  (60, 'COMMIT',      'Commit',      80,  false, false, '{commit,negotiation,contractsent,close}',    'Negotiation or contract out for signature'),
  (70, 'EXPAND',      'Expand',      90,  false, false, '{expand}',                                   'Committed; scope being expanded before close'),
  (80, 'CLOSED_WON',  'Closed won',  100, true,  true,  '{closedwon,won}',                            'Deal won'),
  (90, 'CLOSED_LOST', 'Closed lost', 0,   true,  false, '{closedlost,lost}',                          'Deal lost')
ON CONFLICT (code) DO NOTHING;

-- RobbieBlocks base design tokens (33; key token_key). The base palette is dark.
INSERT INTO robbieblocks_style_tokens (token_key, token_category, default_value, description)
VALUES
  ('color.primary',     'color',     '#8B5CF6',                             'Brand primary colour'),
  ('color.secondary',   'color',     '#EC4899',                             'Brand secondary (accent) colour'),
  ('color.background',  'color',     '#0F172A',                             'Page background colour'),
  ('color.surface',     'color',     '#1E293B',                             'Card and panel background colour'),
  ('color.text',        'color',     '#F1F5F9',                             'Body text colour'),
  ('color.text-muted',  'color',     '#94A3B8',                             'Secondary / muted text colour'),
  ('color.success',     'color',     '#10B981',                             'Success state colour'),
  ('color.warning',     'color',     '#F59E0B',                             'Warning state colour'),
  ('color.error',       'color',     '#EF4444',                             'Error state colour'),
  ('font.heading',      'font',      'Montserrat, sans-serif',              'Heading font family'),
  ('font.body',         'font',      'Inter, sans-serif',                   'Body text font family'),
  ('font.mono',         'font',      'Fira Code, monospace',                'Monospace font family (code)'),
  ('font.size.xs',      'font',      '0.75rem',                             'Extra-small font size'),
  ('font.size.sm',      'font',      '0.875rem',                            'Small font size'),
  ('font.size.base',    'font',      '1rem',                                'Base font size'),
  ('font.size.lg',      'font',      '1.125rem',                            'Large font size'),
  ('font.size.xl',      'font',      '1.25rem',                             'Extra-large font size'),
  ('font.size.2xl',     'font',      '1.5rem',                              '2× extra-large font size'),
  ('font.size.3xl',     'font',      '1.875rem',                            '3× extra-large font size'),
  ('spacing.xs',        'spacing',   '0.25rem',                             'Extra-small spacing'),
  ('spacing.sm',        'spacing',   '0.5rem',                              'Small spacing'),
  ('spacing.md',        'spacing',   '1rem',                                'Medium spacing'),
  ('spacing.lg',        'spacing',   '1.5rem',                              'Large spacing'),
  ('spacing.xl',        'spacing',   '2rem',                                'Extra-large spacing'),
  ('spacing.2xl',       'spacing',   '3rem',                                '2× extra-large spacing'),
  ('shadow.sm',         'shadow',    '0 1px 2px 0 rgba(0, 0, 0, 0.05)',     'Small shadow'),
  ('shadow.md',         'shadow',    '0 4px 6px -1px rgba(0, 0, 0, 0.1)',   'Medium shadow'),
  ('shadow.lg',         'shadow',    '0 10px 15px -3px rgba(0, 0, 0, 0.1)', 'Large shadow'),
  ('shadow.xl',         'shadow',    '0 20px 25px -5px rgba(0, 0, 0, 0.1)', 'Extra-large shadow'),
  ('animation.fast',    'animation', '150ms',                               'Fast animation duration'),
  ('animation.normal',  'animation', '300ms',                               'Normal animation duration'),
  ('animation.slow',    'animation', '500ms',                               'Slow animation duration'),
  ('animation.ease',    'animation', 'cubic-bezier(0.4, 0, 0.2, 1)',        'Default easing curve')
ON CONFLICT (token_key) DO NOTHING;

-- Per-node branding (4; key node_id, found by nodes.node_key). Override keys are existing tokens; font names
-- are stored bare (the builder quotes them and appends the base token's generic family). The master and
-- robbiebook1 get no branding row, so they build nothing until one is added.
INSERT INTO robbieblocks_node_branding (node_id, display_name, theme, style_overrides, enabled_apps)
SELECT n.id, v.display_name, v.theme, v.style_overrides::jsonb, v.enabled_apps::text[]
FROM (VALUES
  ('vengeance-local', 'Vengeance Gaming Rig', 'dark',
   '{"color.primary": "#8B5CF6", "color.secondary": "#EC4899", "color.background": "#0F172A", "font.heading": "Press Start 2P", "font.body": "Inter"}',
   '{play,code}'),
  ('aurora-town-local', 'Aurora Town Production', 'light',
   '{"color.primary": "#3B82F6", "color.secondary": "#10B981", "color.background": "#FFFFFF", "color.text": "#1E293B", "font.heading": "Montserrat", "font.body": "Inter"}',
   '{work,code}'),
  ('collaboration-local', 'Collaboration Node', 'light',
   '{"color.primary": "#06B6D4", "color.secondary": "#8B5CF6", "color.background": "#FFFFFF", "color.text": "#1E293B", "font.heading": "Montserrat", "font.body": "Inter"}',
   '{work,play,code}'),
  ('fluenti-local', 'Fluenti Development', 'dark',
   '{"color.primary": "#F59E0B", "color.secondary": "#EF4444", "color.background": "#18181B", "font.heading": "Inter", "font.body": "Inter"}',
   '{work,code}')
) AS v (node_key, display_name, theme, style_overrides, enabled_apps)
JOIN nodes n ON n.node_key = v.node_key
ON CONFLICT (node_id) DO NOTHING;

-- Simulation templates shipped by the system (key template_name; created_by NULL).
INSERT INTO simulation_templates (template_name, template_category, template_config, template_description, version, created_by)
VALUES
  ('Deal Probability Analysis', 'deal_analysis',
   '{"analysis_type": "probability", "lookback_days": 365, "confidence_threshold": 0.8}',
   'Win-probability estimate from deal history', '1.0', NULL),
  ('Market Opportunity Assessment', 'market_research',
   '{"research_depth": "comprehensive", "competitor_analysis": true, "market_size_estimation": true}',
   'Market size and competition review', '1.0', NULL),
  ('Pricing Optimization', 'pricing',
   '{"optimization_algorithm": "genetic", "constraints": {"min_margin": 0.2, "max_discount": 0.15}}',
   'Price recommendation within margin limits', '1.0', NULL),
  ('Deal Velocity Prediction', 'velocity_analysis',
   '{"prediction_horizon": 90, "factors": ["engagement", "competition", "timing"]}',
   'Expected speed and next steps of a deal', '1.0', NULL)
ON CONFLICT (template_name) DO NOTHING;

-- Engagement scoring rules (key rule_name; multiplier 1.0, max_score 1.0, decay 24 h × 0.9, active).
INSERT INTO engagement_rules (rule_name, rule_type, conditions, base_score, priority,
                              multiplier, max_score, decay_hours, decay_factor, is_active)
SELECT v.rule_name, v.rule_type, v.conditions::jsonb, v.base_score, v.priority, 1.0, 1.0, 24, 0.9, true
FROM (VALUES
  ('Email Open',           'email',       '{"action": "opened", "count": 1}',              0.10, 1),
  ('Email Click',          'email',       '{"action": "clicked", "count": 1}',             0.20, 2),
  ('Email Reply',          'email',       '{"action": "replied", "count": 1}',             0.30, 3),
  ('Website Visit',        'website',     '{"action": "visited", "count": 1}',             0.10, 1),
  ('Website Conversion',   'website',     '{"action": "converted", "count": 1}',           0.50, 5),
  ('LinkedIn Interaction', 'social',      '{"platform": "linkedin", "count": 1}',          0.15, 2),
  ('Slack Message',        'interaction', '{"type": "slack", "direction": "inbound"}',     0.20, 2),
  ('Meeting Attended',     'interaction', '{"type": "meeting", "direction": "inbound"}',   0.40, 4),
  ('High Time on Page',    'website',     '{"time_on_page": ">300"}',                      0.20, 3),
  ('Multiple Page Views',  'website',     '{"page_views": ">3"}',                          0.15, 2)
) AS v (rule_name, rule_type, conditions, base_score, priority)
ON CONFLICT (rule_name) DO NOTHING;

-- Platform settings (key key). Values are JSON; never secrets.
INSERT INTO system_config (key, value, category, description)
VALUES
  ('ai.default_model',          '"llama3.1:8b"',      'ai',       'Default chat model'),
  ('ai.temperature',            '0.7',                'ai',       'Default sampling temperature'),
  ('embeddings.default_model',  '"nomic-embed-text"', 'ai',       'Default embedding model (embedding_models.model_key)'),
  ('security.session_timeout',  '3600',               'security', 'Session idle timeout in seconds'),
  ('features.gpu_mesh_enabled', 'true',               'features', 'Spread AI work over the GPU nodes'),
  ('schema.version',            '"1.0.0"',            'system',   'Version of the unified schema')
ON CONFLICT (key) DO NOTHING;

-- RBAC permission catalogue (key permission_key).
INSERT INTO permissions (permission_key, area, description)
VALUES
  ('org.manage',             'org',          'Change organization settings, or delete the organization'),
  ('billing.manage',         'org',          'Manage billing and subscription'),
  ('members.manage',         'org',          'Invite, remove and change roles of members'),
  ('towns.manage',           'org',          'Create and edit towns and town memberships'),
  ('integrations.manage',    'integrations', 'Connect and configure external integrations'),
  ('secrets.manage',         'integrations', 'Create, rotate and delete stored secrets'),
  ('audit.read',             'org',          'Read the organization''s audit log'),
  ('privacy.boss_only.read', 'content',      'Read rows with privacy level boss_only'),
  ('data_sharing.manage',    'content',      'Share records across towns and manage resource grants'),
  ('ai.configure',           'ai',           'Configure AI personalities, mentors and models for the organization'),
  ('crm.read',               'crm',          'Read contacts, companies and deals'),
  ('crm.write',              'crm',          'Create and edit contacts, companies and deals'),
  ('content.read',           'content',      'Read notes, documents, conversations and knowledge'),
  ('content.write',          'content',      'Create and edit notes, documents, conversations and knowledge'),
  ('analytics.read',         'analytics',    'Read dashboards and analytics')
ON CONFLICT (permission_key) DO NOTHING;

-- Default role matrix (key role + permission, permission found by permission_key).
INSERT INTO role_permissions (role, permission_id)
SELECT r.role, p.id
FROM (VALUES
  ('owner', 'org.manage'), ('owner', 'billing.manage'), ('owner', 'members.manage'), ('owner', 'towns.manage'),
  ('owner', 'integrations.manage'), ('owner', 'secrets.manage'), ('owner', 'audit.read'),
  ('owner', 'privacy.boss_only.read'), ('owner', 'data_sharing.manage'), ('owner', 'ai.configure'),
  ('owner', 'crm.read'), ('owner', 'crm.write'), ('owner', 'content.read'), ('owner', 'content.write'),
  ('owner', 'analytics.read'),
  ('admin', 'members.manage'), ('admin', 'towns.manage'), ('admin', 'integrations.manage'),
  ('admin', 'secrets.manage'), ('admin', 'audit.read'), ('admin', 'privacy.boss_only.read'),
  ('admin', 'data_sharing.manage'), ('admin', 'ai.configure'), ('admin', 'crm.read'), ('admin', 'crm.write'),
  ('admin', 'content.read'), ('admin', 'content.write'), ('admin', 'analytics.read'),
  ('member', 'crm.read'), ('member', 'crm.write'), ('member', 'content.read'), ('member', 'content.write'),
  ('member', 'analytics.read'),
  ('viewer', 'crm.read'), ('viewer', 'content.read')
) AS r (role, permission_key)
JOIN permissions p ON p.permission_key = r.permission_key
ON CONFLICT (role, permission_id) DO NOTHING;

-- Now that the embedding models exist: one HNSW index per (table with an embedding pair, model).
-- @if vector
SELECT ensure_embedding_indexes();
-- @end
