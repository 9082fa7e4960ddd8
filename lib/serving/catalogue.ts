/**
 * A trained model's items as the outside world names them: the internal ids
 * 1..N, or the original names kept from an interactions file
 * (`SequenceDataset.itemIds`, stored in checkpoints as `itemIds`).
 *
 * @module
 */

/** The items of a model: how many, and their original names if any. */
export interface ItemCatalogue {
  /** Number of real items; internal ids are 1..numItems. */
  numItems: number;
  /**
   * Original names, `names[i]` the name of item `i` (`names[0]` is the
   * padding's `""`); absent when the data's own ids are the item ids.
   */
  names?: string[];
}

/**
 * The outside name of internal item `id`: its original name when the
 * catalogue has names, else the id itself.
 *
 * @example
 * ```ts
 * import { itemLabel } from "./catalogue.ts";
 * const cat = { numItems: 2, names: ["", "tea", "mug"] };
 * // item i's name is names[i]: the padding takes index 0
 * if (itemLabel(cat, 1) !== "tea" || itemLabel(cat, 2) !== "mug") throw new Error();
 * if (itemLabel({ numItems: 2 }, 2) !== 2) throw new Error();
 * ```
 */
export function itemLabel(cat: ItemCatalogue, id: number): string | number {
  if (!Number.isInteger(id) || id < 1 || id > cat.numItems) {
    throw new RangeError(
      `itemLabel: expected an item id in 1..${cat.numItems}, found ${id}`,
    );
  }
  return cat.names ? cat.names[id] : id;
}

/**
 * A function from an outside item key to the internal id, 0 when the key
 * names no item. With names, a key is a name (a number is read as its
 * decimal text, so `17` finds the item named "17"); without names, a key is
 * an id 1..N, as a number or a string of digits.
 *
 * @example
 * ```ts
 * import { itemLookup } from "./catalogue.ts";
 * const byName = itemLookup({ numItems: 2, names: ["", "tea", "17"] });
 * if (byName("tea") !== 1 || byName(17) !== 2 || byName("cake") !== 0) throw new Error();
 * const byId = itemLookup({ numItems: 5 });
 * if (byId(5) !== 5 || byId("3") !== 3 || byId(6) !== 0 || byId(1.5) !== 0 || byId("x") !== 0) {
 *   throw new Error();
 * }
 * ```
 */
export function itemLookup(cat: ItemCatalogue): (key: unknown) => number {
  if (cat.names) {
    const ids = new Map<string, number>();
    for (let i = 1; i <= cat.numItems; i++) ids.set(cat.names[i], i);
    return (key) =>
      typeof key === "string"
        ? ids.get(key) ?? 0
        : typeof key === "number" && Number.isFinite(key)
        ? ids.get(String(key)) ?? 0
        : 0;
  }
  return (key) => {
    const id = typeof key === "number"
      ? key
      : typeof key === "string" && /^\d+$/.test(key)
      ? Number(key)
      : NaN;
    return Number.isInteger(id) && id >= 1 && id <= cat.numItems ? id : 0;
  };
}
