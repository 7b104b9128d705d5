/**
 * The sentence the uploader confirms before an avatar is made from their
 * photo, and its version. The new-avatar page shows it beside a required
 * checkbox; `jobs.createAvatar` refuses a request without the confirmation,
 * or one made against an older version, and stores the exact text with the
 * avatar (Avatar.photoConsentAt, Avatar.photoConsentText), so changing the
 * wording later does not change what was agreed to. Change the text: bump the
 * version, so pages still showing the old sentence are sent to reload.
 */
export const PHOTO_CONSENT = {
  version: 1,
  text: "I have the right to use this photo: it shows me, or the person in it has agreed to have an AI-generated 3D avatar made from it.",
} as const;

/** The API's refusals (BAD_REQUEST), shown to the uploader as they are. */
export const PHOTO_CONSENT_MESSAGES = {
  missing: "Confirm that you have the right to use this photo.",
  outdated: "The consent text changed; reload the page.",
} as const;
