// The refusals of a bad `options.lengths`, as every generated module words them (TypeScript and WebGPU alike),
// for a batch of 3 rows over 4 steps: the value given, and the message it must be refused with.
export const LENGTHS_REFUSALS: readonly (readonly [unknown, RegExp])[] = [
  [[2, 3], /options\.lengths has 2 numbers, expected 3 \(one per batch row\)/],
  [5, /options\.lengths must be an array of 3 whole numbers \(one per batch row\), not number/],
  [[2, 0, 4], /options\.lengths\[1\] must be a whole number from 1 to steps = 4, not 0/],
  [[2, 5, 4], /options\.lengths\[1\] must be a whole number from 1 to steps = 4, not 5/],
  [[2, 2.5, 4], /options\.lengths\[1\] must be a whole number from 1 to steps = 4, not 2\.5/],
  [[2, "3", 4], /options\.lengths\[1\] must be a whole number from 1 to steps = 4, not string/],
];
