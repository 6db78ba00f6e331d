import { BadUserInputError } from "../../shared/errors.js";

export interface Label {
  key: string;
  value: string;
}

export const labelKeyPattern = /^[a-z_][a-z0-9_.\-/]{0,62}$/;
export const maxLabelValueLength = 200;
export const maxIncidentLabels = 20;

/** Whether a pair may be stored on an incident (section 8). */
export const isIncidentLabel = (label: Label) => labelKeyPattern.test(label.key) && label.value.length <= maxLabelValueLength;

/** An incident's label set, checked and sorted by key; BAD_USER_INPUT names `field`. */
export function checkLabels(labels: readonly Label[], field = "labels"): Label[] {
  if (labels.length > maxIncidentLabels) throw new BadUserInputError(`At most ${maxIncidentLabels} labels`, field);
  const seen = new Set<string>();
  for (const label of labels) {
    if (!labelKeyPattern.test(label.key)) {
      throw new BadUserInputError(`Label key "${label.key.slice(0, 64)}" must match ${labelKeyPattern.source}`, field);
    }
    if (label.value.length > maxLabelValueLength) {
      throw new BadUserInputError(`Label values are at most ${maxLabelValueLength} characters`, field);
    }
    if (seen.has(label.key)) throw new BadUserInputError(`Label key "${label.key}" is given twice`, field);
    seen.add(label.key);
  }
  return sortLabels(labels);
}

export const sortLabels = (labels: readonly Label[]): Label[] =>
  [...labels].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map(({ key, value }) => ({ key, value }));

/** Whether two sorted label sets are the same. */
export const sameLabels = (a: readonly Label[], b: readonly Label[]) =>
  a.length === b.length && a.every((label, i) => label.key === b[i]!.key && label.value === b[i]!.value);
