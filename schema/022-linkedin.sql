-- L22 — linkedin (README 18).
-- LinkedIn data about contacts with no core equivalent: profiles, posts and observed activity.
-- Messages/InMails are interactions; sync state is external_refs (system 'linkedin').

CREATE TABLE linkedin_profiles (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  contact_id uuid NOT NULL,
  profile_url text NOT NULL,
  name text,
  headline text,
  location text,
  bio text,
  connections integer NOT NULL DEFAULT 0,
  followers integer NOT NULL DEFAULT 0,
  profile_picture_url text,
  tracking_enabled boolean NOT NULL DEFAULT true,
  last_activity_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT linkedin_profiles_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT linkedin_profiles_contact_id_fkey FOREIGN KEY (org_id, contact_id)
    REFERENCES contacts (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
ALTER TABLE linkedin_profiles ADD CONSTRAINT linkedin_profiles_org_id_contact_id_key UNIQUE (org_id, contact_id);
COMMENT ON TABLE linkedin_profiles IS 'LinkedIn profile details of a contact (one per contact)';
COMMENT ON COLUMN linkedin_profiles.tracking_enabled IS 'VIP watch on/off';

CREATE TABLE linkedin_posts (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  contact_id uuid NOT NULL,
  post_id text NOT NULL,
  author_name text,
  author_url text,
  content text,
  post_type text NOT NULL DEFAULT 'text' CHECK (post_type IN ('text', 'image', 'video', 'article')),
  engagement jsonb NOT NULL DEFAULT '{}',
  hashtags text[] NOT NULL DEFAULT '{}',
  mentions text[] NOT NULL DEFAULT '{}',
  posted_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT linkedin_posts_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT linkedin_posts_org_id_post_id_key UNIQUE (org_id, post_id),
  CONSTRAINT linkedin_posts_contact_id_fkey FOREIGN KEY (org_id, contact_id)
    REFERENCES contacts (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE linkedin_posts IS 'LinkedIn posts by contacts';
COMMENT ON COLUMN linkedin_posts.engagement IS 'Like/comment/share counts';

CREATE TABLE linkedin_activity (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  contact_id uuid NOT NULL,
  activity_type text NOT NULL CHECK (activity_type IN ('post', 'comment', 'like', 'share', 'connection')),
  linkedin_post_id uuid,
  activity_data jsonb NOT NULL DEFAULT '{}',
  source_url text,
  activity_date timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT linkedin_activity_org_id_id_key UNIQUE (org_id, id),
  CONSTRAINT linkedin_activity_contact_id_fkey FOREIGN KEY (org_id, contact_id)
    REFERENCES contacts (org_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT linkedin_activity_linkedin_post_id_fkey FOREIGN KEY (org_id, linkedin_post_id)
    REFERENCES linkedin_posts (org_id, id) ON DELETE SET NULL (linkedin_post_id) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON TABLE linkedin_activity IS 'Observed public LinkedIn activity of a contact (append-only; messages are interactions)';

-- VIP contacts of the current organization with a LinkedIn URL whose LinkedIn link
-- (external_refs, system 'linkedin', entity 'contact') was last pulled more than p_hours ago, or
-- never. Inactive contacts and profiles with tracking switched off are skipped. Oldest first.
CREATE FUNCTION contacts_needing_linkedin_sync(p_hours integer DEFAULT 24)
RETURNS TABLE (contact_id uuid, first_name text, last_name text, email text, linkedin_url text,
               company_domain text, last_synced_at timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT c.id, c.first_name, c.last_name, c.email, c.linkedin_url, co.domain, er.last_pulled_at
    FROM contacts c
    LEFT JOIN companies co ON co.org_id = c.org_id AND co.id = c.company_id
    LEFT JOIN LATERAL (
           SELECT max(r.last_pulled_at) AS last_pulled_at
             FROM external_refs r
            WHERE r.org_id = c.org_id
              AND r.system = 'linkedin'
              AND r.entity_type = 'contact'
              AND r.local_id = c.id) er ON true
   WHERE c.org_id = app_current_org_id()
     AND c.is_vip
     AND c.is_active
     AND nullif(btrim(c.linkedin_url), '') IS NOT NULL
     AND NOT EXISTS (SELECT 1
                       FROM linkedin_profiles p
                      WHERE p.org_id = c.org_id
                        AND p.contact_id = c.id
                        AND NOT p.tracking_enabled)
     AND (er.last_pulled_at IS NULL
          OR er.last_pulled_at < now() - make_interval(hours => coalesce(p_hours, 24)))
   ORDER BY er.last_pulled_at NULLS FIRST, c.id
$$;
COMMENT ON FUNCTION contacts_needing_linkedin_sync(integer) IS 'VIP contacts with a LinkedIn URL whose LinkedIn data was not pulled in the last p_hours hours';
