// Pareto frontier of points to be minimised in both coordinates (KV bytes/token, val ppl).
// A point is dominated when another is no worse in both and strictly better in at least one;
// identical points do not dominate each other. Plain O(n^2): a study has tens of points.

export interface ParetoPoint {
  x: number;
  y: number;
}

/** True when `q` dominates `p` (both minimised). */
export function dominates(q: ParetoPoint, p: ParetoPoint): boolean {
  return q.x <= p.x && q.y <= p.y && (q.x < p.x || q.y < p.y);
}

/** One flag per point: true when no other point dominates it. */
export function paretoFrontier(points: readonly ParetoPoint[]): boolean[] {
  return points.map((p) => !points.some((q) => dominates(q, p)));
}

/** The frontier's points sorted by x (then y): the staircase the plot draws. */
export function frontierPoints<T extends ParetoPoint>(points: readonly T[]): T[] {
  const flags = paretoFrontier(points);
  return points.filter((_, i) => flags[i]).sort((a, b) => a.x - b.x || a.y - b.y);
}
