/**
 * The creation configs a person picks (the new-avatar page, the jobs API,
 * `npm run create --config`): their names and labels, shared by the page and
 * the server. What each makes (dataset, training preset) is the server's:
 * server/pipeline/create/configs.ts.
 */
export const CREATION_CONFIGS = ["auto", "tiny", "compact", "paper"] as const;
export type CreationConfig = (typeof CREATION_CONFIGS)[number];

export const CREATION_CONFIG_LABELS: Readonly<Record<CreationConfig, string>> = {
  auto: "Standard (about 20-35 min on 2 CPU cores)",
  tiny: "Quick preview (a few minutes, low detail)",
  compact: "Compact (128 px, about 20-35 min on 2 CPU cores)",
  paper: "Paper-sized (512 px, the reference's iterations; for a GPU)",
};

/** The configs the new-avatar page offers, in its order (compact and paper are for the command line and GPUs). */
export const OFFERED_CREATION_CONFIGS: readonly CreationConfig[] = ["tiny", "auto"];
