/**
 * A string of `length` units that counts the times its characters are iterated (`[...text]`, `for of`): a check that
 * must not read a long string can show it did not. The iteration itself yields nothing.
 */
export function countedString(length: number): { text: string; reads(): number } {
  let reads = 0;
  const text = Object.assign(new String("a".repeat(length)), {
    [Symbol.iterator]: () => {
      reads += 1;
      return [][Symbol.iterator]();
    },
  }) as unknown as string;
  return { text, reads: () => reads };
}
