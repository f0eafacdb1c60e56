// The only place ids and bearer secrets are minted (law 7). Ids are a prefix and 144 random
// bits, base64url; secrets carry 256.
function randomPart(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export const mintProjectId = () => `prj_${randomPart(18)}`;
export const mintUserId = () => `usr_${randomPart(18)}`;
export const mintKeyId = () => `key_${randomPart(18)}`;
/** An API key: a recognisable prefix and 256 bits of randomness. */
export const mintKeySecret = () => `cap_${randomPart(32)}`;
/** A browser session's refresh token: 256 bits, stored only as its sha256. */
export const mintRefreshToken = () => `crt_${randomPart(32)}`;
/** A browser session (a family of refresh tokens); access tokens carry it as `sid`. */
export const mintSessionFamilyId = () => `fam_${randomPart(18)}`;
/** An access token's `jti`. */
export const mintTokenId = () => `tok_${randomPart(18)}`;

export const PROJECT_ID = /^prj_[A-Za-z0-9_-]{16,64}$/;
export const USER_ID = /^usr_[A-Za-z0-9_-]{16,64}$/;
export const KEY_ID = /^key_[A-Za-z0-9_-]{16,64}$/;
export const SESSION_FAMILY_ID = /^fam_[A-Za-z0-9_-]{16,64}$/;
export const API_KEY = /^cap_[A-Za-z0-9_-]{43}$/;
export const REFRESH_TOKEN = /^crt_[A-Za-z0-9_-]{43}$/;
export const mintSessionId = () => `ses_${randomPart(12)}`;
export const mintReplSessionId = () => `rpl_${randomPart(12)}`;
/** One request to the HTTP fetch route: its caller in the audit log. */
export const mintHttpRequestId = () => `req_${randomPart(12)}`;
