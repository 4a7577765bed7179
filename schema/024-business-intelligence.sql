-- L24 — business intelligence (merge-strategy layer 7).
-- Derived analytics written by scheduled jobs: capacity heatmap, weekly team workload,
-- deal risk assessments (append-only history) and revenue KPIs per period.

CREATE TABLE capacity_heatmap (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  town_id uuid,
  snapshot_date date NOT NULL,
  active_deals integer NOT NULL DEFAULT 0,
  active_tasks integer NOT NULL DEFAULT 0,
  upcoming_meetings integer NOT NULL DEFAULT 0,
  recent_interactions integer NOT NULL DEFAULT 0,
  scheduled_minutes integer NOT NULL DEFAULT 0,
  focus_minutes integer NOT NULL DEFAULT 0,
  capacity_percent integer NOT NULL DEFAULT 0 CHECK (capacity_percent >= 0),
  status text NOT NULL DEFAULT 'normal' CHECK (status IN ('available', 'normal', 'busy', 'overloaded')),
  calculated_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT capacity_heatmap_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT capacity_heatmap_org_id_user_id_snapshot_date_key UNIQUE (org_id, user_id, snapshot_date),
  CONSTRAINT capacity_heatmap_town_id_fkey FOREIGN KEY (org_id, town_id)
    REFERENCES towns (org_id, id) ON DELETE SET NULL (town_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE capacity_heatmap IS 'Day-by-person load forecast from calendar, tasks, deals and interactions';
COMMENT ON COLUMN capacity_heatmap.capacity_percent IS 'Share of capacity booked; over 100 = overbooked';

CREATE TABLE team_workload (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  week_start date NOT NULL,
  tasks_open integer NOT NULL DEFAULT 0,
  tasks_completed integer NOT NULL DEFAULT 0,
  tasks_overdue integer NOT NULL DEFAULT 0,
  meetings_count integer NOT NULL DEFAULT 0,
  meeting_hours numeric(6,2) NOT NULL DEFAULT 0,
  focus_hours numeric(6,2) NOT NULL DEFAULT 0,
  deals_owned integer NOT NULL DEFAULT 0,
  pipeline_value_cents bigint NOT NULL DEFAULT 0,
  interactions_count integer NOT NULL DEFAULT 0,
  workload_score integer CHECK (workload_score BETWEEN 0 AND 100),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT team_workload_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT team_workload_org_id_user_id_week_start_key UNIQUE (org_id, user_id, week_start)
);
COMMENT ON TABLE team_workload IS 'Weekly workload actuals per person (assigned vs done), the history behind the capacity forecast';
COMMENT ON COLUMN team_workload.week_start IS 'Monday of the week';

CREATE TABLE deal_risk_analysis (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  deal_id uuid NOT NULL,
  analyzed_at timestamptz NOT NULL DEFAULT now(),
  risk_score integer NOT NULL CHECK (risk_score BETWEEN 0 AND 100),
  risk_level text NOT NULL CHECK (risk_level IN ('low', 'medium', 'high')),
  risk_factors jsonb NOT NULL DEFAULT '[]',
  recommendations jsonb NOT NULL DEFAULT '[]',
  opportunities jsonb NOT NULL DEFAULT '[]',
  velocity_status varchar(50),
  recommended_stage text REFERENCES deal_stages (code) ON UPDATE CASCADE ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  predicted_close_date date,
  intelligence_score integer CHECK (intelligence_score BETWEEN 0 AND 100),
  report text,
  model_used text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT deal_risk_analysis_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT deal_risk_analysis_deal_id_fkey FOREIGN KEY (org_id, deal_id)
    REFERENCES deals (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE deal_risk_analysis IS 'History of AI risk assessments per deal; the latest row per deal is current (append-only)';
COMMENT ON COLUMN deal_risk_analysis.risk_factors IS 'Array of {category, severity, likelihood, impact}';

CREATE TABLE revenue_metrics (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  town_id uuid,
  period_type text NOT NULL CHECK (period_type IN ('day', 'week', 'month', 'quarter', 'year')),
  period_start date NOT NULL,
  currency varchar(3) NOT NULL DEFAULT 'USD',
  mrr_cents bigint,
  arr_cents bigint,
  new_revenue_cents bigint NOT NULL DEFAULT 0,
  closed_won_cents bigint NOT NULL DEFAULT 0,
  closed_won_count integer NOT NULL DEFAULT 0,
  closed_lost_count integer NOT NULL DEFAULT 0,
  pipeline_value_cents bigint NOT NULL DEFAULT 0,
  weighted_pipeline_cents bigint NOT NULL DEFAULT 0,
  open_deal_count integer NOT NULL DEFAULT 0,
  close_rate numeric(5,4) CHECK (close_rate BETWEEN 0 AND 1),
  avg_deal_size_cents bigint,
  avg_sales_cycle_days numeric(8,2),
  calculated_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT revenue_metrics_org_id_id_key UNIQUE (org_id, id),
  UNIQUE NULLS NOT DISTINCT (org_id, town_id, period_type, period_start, currency),
  CONSTRAINT revenue_metrics_town_id_fkey FOREIGN KEY (org_id, town_id)
    REFERENCES towns (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE revenue_metrics IS 'Revenue KPIs per period for the whole organization (town_id NULL) or one town';
COMMENT ON COLUMN revenue_metrics.weighted_pipeline_cents IS 'Sum of open deal amount x probability';
