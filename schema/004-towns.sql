-- L4 — towns (README 05): business units inside one organization, and per-town roles.
-- towns and town_memberships ([tenant]); a town membership requires an organization membership.

CREATE TABLE towns (
  id          uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id      uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  slug        varchar(50)  NOT NULL,
  name        varchar(100) NOT NULL,
  description text,
  region      varchar(50),
  is_active   boolean      NOT NULL DEFAULT true,
  settings    jsonb        NOT NULL DEFAULT '{}',
  created_at  timestamptz  NOT NULL DEFAULT now(),
  updated_at  timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT towns_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT towns_org_id_slug_key UNIQUE (org_id, slug)
);
COMMENT ON TABLE towns IS 'Business units/locations inside an organization (e.g. aurora, fluenti); referenced by town_id';
COMMENT ON COLUMN towns.slug IS 'Unique per organization; never used as a key by other tables';

CREATE TABLE town_memberships (
  id          uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id      uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  town_id     uuid        NOT NULL,
  user_id     uuid        NOT NULL,
  role        text        NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  permissions jsonb       NOT NULL DEFAULT '{}',
  is_active   boolean     NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT town_memberships_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT town_memberships_town_id_user_id_key UNIQUE (org_id, town_id, user_id),
  CONSTRAINT town_memberships_town_id_fkey FOREIGN KEY (org_id, town_id)
    REFERENCES towns (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT town_memberships_user_id_fkey FOREIGN KEY (org_id, user_id)
    REFERENCES organization_memberships (org_id, user_id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE town_memberships IS 'A user''s role in one town; requires a membership in the town''s organization';
COMMENT ON COLUMN town_memberships.permissions IS 'Fine-grained extras beyond the role';
