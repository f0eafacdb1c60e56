-- Auth: the built-in issuer's signing keys, browser-session refresh tokens, and the auth audit.

-- The issuer's ES256 keys. kid is the RFC 7638 thumbprint of the public key. The private half
-- is sealed (AES-GCM, see src/auth/seal.ts) and dropped when the key is retired; the public half
-- stays published until publish_until, after every token the key signed has expired.
CREATE TABLE auth_signing_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  sealed_private BLOB,
  state TEXT NOT NULL CHECK (state IN ('active', 'retired')),
  created_at INTEGER NOT NULL,
  retired_at INTEGER,
  publish_until INTEGER
);
-- At most one active key, so isolates racing to create the first one cannot both win.
CREATE UNIQUE INDEX auth_signing_keys_one_active ON auth_signing_keys(state) WHERE state = 'active';

-- A browser session is a family of refresh tokens opened with one API key. Reusing a rotated
-- token revokes the family; revoking the key revokes its families.
CREATE TABLE session_families (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  key_id TEXT NOT NULL REFERENCES api_keys(id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  revoked_reason TEXT
);
CREATE INDEX session_families_key ON session_families(key_id);

-- Refresh tokens by sha256 only. successor is the hash of the token that replaced this one; it
-- is set by the one conditional write that rotates it.
CREATE TABLE refresh_tokens (
  hash TEXT PRIMARY KEY,
  family_id TEXT NOT NULL REFERENCES session_families(id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  rotated_at INTEGER,
  successor TEXT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

-- What happened to identities and grants, and every refusal with its reason. Never a presented
-- secret, nor its hash.
CREATE TABLE auth_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  event TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused')),
  reason TEXT,
  user_id TEXT,
  key_id TEXT,
  project_id TEXT,
  session_id TEXT,
  via TEXT,
  ip TEXT,
  detail TEXT
);
CREATE INDEX auth_audit_user ON auth_audit(user_id, id);
CREATE INDEX auth_audit_event ON auth_audit(event, id);
