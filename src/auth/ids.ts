// The only place ids are minted (law 7). Ids are a prefix and 144 random bits, base64url.
function randomPart(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export const mintProjectId = () => `prj_${randomPart(18)}`;
export const mintUserId = () => `usr_${randomPart(18)}`;
export const mintKeyId = () => `key_${randomPart(18)}`;
/** An API key: a recognisable prefix and 256 bits of randomness. */
export const mintKeySecret = () => `cap_${randomPart(32)}`;

export const PROJECT_ID = /^prj_[A-Za-z0-9_-]{16,64}$/;
export const mintSessionId = () => `ses_${randomPart(12)}`;
export const mintReplSessionId = () => `rpl_${randomPart(12)}`;
