/**
 * `--dataset-format`'s choices, apart from the loaders in dataset-format.ts: the CLI declares its flags from these,
 * and importing the loaders would load apache-arrow, parquet-wasm and rxjs (~250 ms) before any command is known.
 */
export const DATASET_FORMAT_CHOICES = ['auto', 'mbpp', 'mbppplus'] as const;
export type DatasetFormatChoice = (typeof DATASET_FORMAT_CHOICES)[number];
