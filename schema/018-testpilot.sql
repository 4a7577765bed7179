-- L18 — testpilot simulations (README 06).
-- Simulation templates (platform catalogue), simulation runs of an organization, their link to
-- deals, scenarios and executions; a completed simulation is written to the deal timeline.

CREATE TABLE simulation_templates (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  template_name varchar(255) NOT NULL UNIQUE,
  template_description text,
  template_category varchar(100),
  template_config jsonb NOT NULL DEFAULT '{}',
  required_parameters jsonb NOT NULL DEFAULT '[]',
  optional_parameters jsonb NOT NULL DEFAULT '[]',
  version varchar(20) NOT NULL DEFAULT '1.0',
  is_active boolean NOT NULL DEFAULT true,
  usage_count integer NOT NULL DEFAULT 0,
  success_rate numeric(3,2) NOT NULL DEFAULT 0 CHECK (success_rate BETWEEN 0 AND 1),
  average_execution_time_seconds integer NOT NULL DEFAULT 0,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE simulation_templates IS 'Library of simulation configurations shipped with the platform (created_by NULL = system)';

CREATE TABLE testpilot_simulations (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  town_id uuid,
  template_id uuid REFERENCES simulation_templates (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  simulation_key varchar(100) NOT NULL,
  name varchar(255) NOT NULL,
  description text,
  simulation_type varchar(100),
  simulation_config jsonb NOT NULL DEFAULT '{}',
  status varchar(50) NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'queued', 'running', 'completed', 'failed', 'cancelled')),
  progress_percentage integer NOT NULL DEFAULT 0 CHECK (progress_percentage BETWEEN 0 AND 100),
  started_at timestamptz,
  completed_at timestamptz,
  estimated_completion_at timestamptz,
  simulation_results jsonb NOT NULL DEFAULT '{}',
  simulation_metrics jsonb NOT NULL DEFAULT '{}',
  simulation_logs text,
  ai_analysis jsonb NOT NULL DEFAULT '{}',
  recommendations jsonb NOT NULL DEFAULT '[]',
  confidence_score numeric(3,2) CHECK (confidence_score BETWEEN 0 AND 1),
  gpu_usage_minutes integer NOT NULL DEFAULT 0,
  cpu_usage_minutes integer NOT NULL DEFAULT 0,
  memory_usage_mb integer NOT NULL DEFAULT 0,
  cost_usd numeric(10,4) NOT NULL DEFAULT 0,
  assigned_node_id uuid REFERENCES nodes (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  tags text[] NOT NULL DEFAULT '{}',
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT testpilot_simulations_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT testpilot_simulations_org_id_simulation_key_key UNIQUE (org_id, simulation_key),
  CONSTRAINT testpilot_simulations_town_id_fkey FOREIGN KEY (org_id, town_id)
    REFERENCES towns (org_id, id) ON DELETE SET NULL (town_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE testpilot_simulations IS 'TestPilot simulation runs of an organization (deal analysis, market research, pricing, velocity)';
COMMENT ON COLUMN testpilot_simulations.ai_analysis IS 'AI analysis of the results; key "summary" is copied to the deal timeline on completion';

CREATE TABLE deal_simulations (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  deal_id uuid NOT NULL,
  simulation_id uuid NOT NULL,
  association_type varchar(50) NOT NULL DEFAULT 'primary'
    CHECK (association_type IN ('primary', 'secondary', 'comparison')),
  impact_score numeric(3,2),
  recommendation_weight numeric(3,2) NOT NULL DEFAULT 1.0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT deal_simulations_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT deal_simulations_deal_id_simulation_id_association_type_key UNIQUE (org_id, deal_id, simulation_id, association_type),
  CONSTRAINT deal_simulations_deal_id_fkey FOREIGN KEY (org_id, deal_id)
    REFERENCES deals (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT deal_simulations_simulation_id_fkey FOREIGN KEY (org_id, simulation_id)
    REFERENCES testpilot_simulations (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
-- At most one primary deal per simulation.
CREATE UNIQUE INDEX deal_simulations_simulation_id_primary_key
  ON deal_simulations (org_id, simulation_id) WHERE association_type = 'primary';
COMMENT ON TABLE deal_simulations IS 'The only deal <-> simulation link (one primary deal per simulation)';

CREATE TABLE simulation_scenarios (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  simulation_id uuid NOT NULL,
  scenario_name varchar(255) NOT NULL,
  scenario_description text,
  scenario_type varchar(100),
  scenario_config jsonb NOT NULL DEFAULT '{}',
  scenario_results jsonb NOT NULL DEFAULT '{}',
  scenario_metrics jsonb NOT NULL DEFAULT '{}',
  baseline_comparison jsonb NOT NULL DEFAULT '{}',
  best_case_comparison jsonb NOT NULL DEFAULT '{}',
  worst_case_comparison jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT simulation_scenarios_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT simulation_scenarios_simulation_id_scenario_name_key UNIQUE (org_id, simulation_id, scenario_name),
  CONSTRAINT simulation_scenarios_simulation_id_fkey FOREIGN KEY (org_id, simulation_id)
    REFERENCES testpilot_simulations (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE simulation_scenarios IS 'Scenarios of a simulation (baseline, best case, worst case, custom) and their results';

CREATE TABLE simulation_executions (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  simulation_id uuid NOT NULL,
  scenario_id uuid,
  execution_key varchar(100) NOT NULL,
  execution_type varchar(50),
  execution_config jsonb NOT NULL DEFAULT '{}',
  status varchar(50) NOT NULL DEFAULT 'running'
    CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  progress_percentage integer NOT NULL DEFAULT 0 CHECK (progress_percentage BETWEEN 0 AND 100),
  started_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  execution_results jsonb NOT NULL DEFAULT '{}',
  execution_metrics jsonb NOT NULL DEFAULT '{}',
  execution_logs text,
  gpu_usage_minutes integer NOT NULL DEFAULT 0,
  cpu_usage_minutes integer NOT NULL DEFAULT 0,
  memory_usage_mb integer NOT NULL DEFAULT 0,
  cost_usd numeric(10,4) NOT NULL DEFAULT 0,
  execution_time_seconds integer,
  data_points_processed integer,
  accuracy_score numeric(3,2) CHECK (accuracy_score BETWEEN 0 AND 1),
  node_id uuid REFERENCES nodes (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT simulation_executions_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT simulation_executions_org_id_execution_key_key UNIQUE (org_id, execution_key),
  CONSTRAINT simulation_executions_simulation_id_fkey FOREIGN KEY (org_id, simulation_id)
    REFERENCES testpilot_simulations (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT simulation_executions_scenario_id_fkey FOREIGN KEY (org_id, scenario_id)
    REFERENCES simulation_scenarios (org_id, id) ON DELETE SET NULL (scenario_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE simulation_executions IS 'One execution of a simulation (or one of its scenarios) on a node, with resource usage';

-- On the change to 'completed': one 'simulation' entry on each linked deal's timeline, and the
-- template's usage_count is bumped once. SECURITY DEFINER because simulation_templates is a
-- platform catalogue the app role cannot write; rows touched are limited to NEW's organization.
CREATE FUNCTION simulation_completed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO deal_activities (org_id, deal_id, user_id, activity_type, description, metadata)
  SELECT NEW.org_id,
         ds.deal_id,
         NULL,
         'simulation',
         format('Simulation "%s" completed', NEW.name),
         jsonb_build_object(
           'simulation_id', NEW.id,
           'simulation_key', NEW.simulation_key,
           'association_type', ds.association_type,
           'summary', NEW.ai_analysis -> 'summary',
           'confidence', NEW.confidence_score,
           'recommendations', NEW.recommendations)
    FROM deal_simulations ds
   WHERE ds.org_id = NEW.org_id
     AND ds.simulation_id = NEW.id;

  IF NEW.template_id IS NOT NULL THEN
    UPDATE simulation_templates
       SET usage_count = usage_count + 1
     WHERE id = NEW.template_id;
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION simulation_completed() IS 'AFTER UPDATE OF status on testpilot_simulations: writes deal_activities for linked deals and bumps the template usage_count';

CREATE TRIGGER testpilot_simulations_completed
  AFTER UPDATE OF status ON testpilot_simulations
  FOR EACH ROW
  WHEN (NEW.status = 'completed' AND OLD.status IS DISTINCT FROM 'completed')
  EXECUTE FUNCTION simulation_completed();
