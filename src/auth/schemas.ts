// The shapes of auth's inputs, at the edge.
import { z } from "zod";
import { ACCESS_TTL } from "./config";
import { Role } from "./grants";
import { KEY_ID, USER_ID } from "./ids";

export const KeyName = z.string().trim().min(1, "must not be empty").max(100, "must be at most 100 characters");

/** Only these fields are read: an owner, id, key or revoked flag in the body is ignored. */
export const NewKeyBody = z.object({
  name: KeyName,
  expiresAt: z.iso
    .datetime({ offset: true, message: "must be an ISO 8601 date and time, e.g. 2030-01-01T00:00:00Z" })
    .transform((s) => Date.parse(s))
    .refine((t) => t > Date.now(), "must be in the future")
    .optional(),
});

export const KeyIdParam = z.string().regex(KEY_ID, "is not a key id (key_…)");

export const TokenBody = z.object({
  ttl: z
    .number({ message: "must be a number of seconds" })
    .int("must be a whole number of seconds")
    .min(ACCESS_TTL.min, `must be at least ${ACCESS_TTL.min} seconds`)
    .max(ACCESS_TTL.max, `must be at most ${ACCESS_TTL.max} seconds`)
    .optional(),
});

export const UserIdParam = z.string().regex(USER_ID, "is not a user id (usr_…)");

export const AddMemberBody = z.object({
  userId: UserIdParam,
  role: Role,
});

export const SetRoleBody = z.object({ role: Role });
