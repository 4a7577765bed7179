import type { Role } from './auth/roles.js';

export type Operation = 'list' | 'get' | 'create' | 'update' | 'delete';

/** A table exposed as a REST resource; its JSON schemas are derived from the catalog at start-up. */
export interface ResourceDef {
  /** URL path under /api, e.g. "contacts", "calendar/events" */
  path: string;
  table: string;
  /** OpenAPI tag and one-line description */
  tag: string;
  description: string;
  /** tenant: org_id rows; global: read-only catalogue */
  scope: 'tenant' | 'global';
  ops?: Operation[];
  /** weakest role that may create/update/delete (default member) */
  writeRole?: Role;
  /** columns never sent or accepted (embeddings, secrets) */
  hidden?: string[];
  /** columns sent but never accepted */
  readOnly?: string[];
  /** column set to the acting user on create */
  owner?: string;
  /** sortable columns; the first is the default order */
  sorts: { column: string; order: 'asc' | 'desc' }[];
  /** columns usable as ?column=value filters (default: uuid, boolean and enumerated columns) */
  filters?: string[];
  /** columns searched by ?q= (case-insensitive substring) */
  search?: string[];
  /** nested under a parent: /conversations/{conversationId}/messages */
  parent?: { table: string; param: string; column: string; path: string };
}

const tenant = (d: Omit<ResourceDef, 'scope'>): ResourceDef => ({ scope: 'tenant', ...d });

export const RESOURCES: ResourceDef[] = [
  tenant({
    path: 'contacts', table: 'contacts', tag: 'CRM', description: 'People in the organization\'s CRM',
    readOnly: ['full_name'],
    sorts: [{ column: 'created_at', order: 'desc' }, { column: 'last_name', order: 'asc' }, { column: 'updated_at', order: 'desc' }],
    filters: ['company_id', 'owner_id', 'town_id', 'is_vip', 'is_active', 'email'],
    search: ['first_name', 'last_name', 'email', 'company'],
  }),
  tenant({
    path: 'companies', table: 'companies', tag: 'CRM', description: 'Customer and prospect companies',
    sorts: [{ column: 'created_at', order: 'desc' }, { column: 'name', order: 'asc' }, { column: 'updated_at', order: 'desc' }],
    filters: ['owner_id', 'town_id', 'is_vip', 'is_active', 'domain', 'industry'],
    search: ['name', 'domain'],
  }),
  tenant({
    path: 'deals', table: 'deals', tag: 'CRM', description: 'Sales opportunities moving through the deal stages',
    sorts: [{ column: 'created_at', order: 'desc' }, { column: 'amount_cents', order: 'desc' }, { column: 'expected_close_date', order: 'asc' }, { column: 'updated_at', order: 'desc' }],
    filters: ['stage', 'company_id', 'primary_contact_id', 'owner_id', 'town_id', 'is_active', 'forecast_category'],
    search: ['name'],
  }),
  {
    path: 'deal-stages', table: 'deal_stages', tag: 'CRM', description: 'The ordered sales pipeline (platform catalogue, read-only)',
    scope: 'global', ops: ['list', 'get'],
    sorts: [{ column: 'stage_order', order: 'asc' }],
    filters: ['code', 'is_closed', 'is_won'],
  },
  tenant({
    path: 'tasks', table: 'tasks', tag: 'Productivity', description: 'To-dos of the organization', owner: 'user_id',
    sorts: [{ column: 'created_at', order: 'desc' }, { column: 'due_date', order: 'asc' }, { column: 'updated_at', order: 'desc' }],
    filters: ['status', 'priority', 'assigned_to', 'user_id', 'town_id', 'parent_task_id', 'related_to_id'],
    search: ['title', 'description'],
  }),
  tenant({
    path: 'calendar/events', table: 'calendar_events', tag: 'Calendar', description: 'Meetings and blocks on the organization\'s calendars', owner: 'user_id',
    sorts: [{ column: 'start_time', order: 'asc' }, { column: 'created_at', order: 'desc' }],
    filters: ['user_id', 'town_id', 'event_type', 'status', 'is_all_day'],
    search: ['title', 'location'],
  }),
  tenant({
    path: 'meetings/health', table: 'meeting_health', tag: 'Calendar', description: 'Health score of meetings (one row per calendar event)',
    sorts: [{ column: 'created_at', order: 'desc' }, { column: 'health_score', order: 'asc' }],
    filters: ['calendar_event_id', 'health_status'],
  }),
  tenant({
    path: 'sticky-notes', table: 'sticky_notes', tag: 'Notes', description: 'Sticky notes of people and the AI', owner: 'user_id',
    hidden: ['embedding'], readOnly: ['embedding_model', 'surface_count', 'dismissed_count', 'last_surfaced_at'],
    sorts: [{ column: 'created_at', order: 'desc' }, { column: 'updated_at', order: 'desc' }, { column: 'surface_priority', order: 'desc' }],
    filters: ['note_type', 'color', 'surface_status', 'privacy_level', 'user_id', 'town_id', 'related_to_id', 'author_type'],
    search: ['title', 'content'],
  }),
  tenant({
    path: 'conversations', table: 'conversations', tag: 'Conversations', description: 'Chat sessions between people and AI personalities', owner: 'user_id',
    readOnly: ['message_count', 'last_message_at'],
    sorts: [{ column: 'updated_at', order: 'desc' }, { column: 'created_at', order: 'desc' }],
    filters: ['personality_id', 'mentor_id', 'is_archived', 'session_type', 'privacy_level', 'town_id', 'user_id'],
    search: ['title'],
  }),
  tenant({
    path: 'messages', table: 'messages', tag: 'Conversations', description: 'Messages of one conversation', owner: 'user_id',
    hidden: ['embedding'], readOnly: ['embedding_model', 'conversation_id'],
    parent: { table: 'conversations', param: 'conversationId', column: 'conversation_id', path: 'conversations' },
    sorts: [{ column: 'created_at', order: 'asc' }],
    filters: ['role', 'user_id', 'is_pinned', 'is_flagged', 'parent_message_id'],
    search: ['content'],
  }),
  tenant({
    path: 'knowledge-base', table: 'knowledge_base', tag: 'Knowledge', description: 'Knowledge articles of the organization', owner: 'user_id',
    hidden: ['embedding'], readOnly: ['embedding_model', 'view_count', 'helpful_count'],
    sorts: [{ column: 'created_at', order: 'desc' }, { column: 'updated_at', order: 'desc' }, { column: 'importance_score', order: 'desc' }],
    filters: ['category', 'topic', 'is_verified', 'privacy_level', 'town_id', 'user_id'],
    search: ['title', 'content', 'topic'],
  }),
  {
    path: 'personalities', table: 'ai_personalities', tag: 'AI', description: 'The AI personality catalogue (read-only)',
    scope: 'global', ops: ['list', 'get'], hidden: ['personality_prompt'],
    sorts: [{ column: 'created_at', order: 'asc' }],
    filters: ['slug', 'is_active'],
  },
  tenant({
    path: 'ai-usage', table: 'ai_model_usage', tag: 'AI', description: 'One row per AI model call (append-only: record, list, read)',
    ops: ['list', 'get', 'create'], owner: 'user_id', readOnly: ['total_tokens'],
    sorts: [{ column: 'created_at', order: 'desc' }],
    filters: ['model_name', 'model_provider', 'task_type', 'conversation_id', 'personality_id', 'user_id', 'success'],
  }),
  tenant({
    path: 'ai-costs', table: 'ai_costs', tag: 'AI', description: 'Daily AI cost rollup per model (read-only)',
    ops: ['list', 'get'],
    sorts: [{ column: 'date', order: 'desc' }],
    filters: ['model_name', 'model_provider', 'date'],
  }),
  tenant({
    path: 'touch-ready', table: 'touch_ready_queue', tag: 'Productivity', description: 'Drafted outreach waiting for approval',
    hidden: ['embedding'],
    sorts: [{ column: 'created_at', order: 'desc' }],
  }),
];
