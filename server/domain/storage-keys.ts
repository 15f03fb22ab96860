/**
 * Every storage key the domain writes, built here and nowhere else: deleting "an export's files" or "a run's files"
 * must name exactly the prefix they were written under.
 *
 *   exports/<export>/runs/<run>/<attempt>/<path>   the files of one attempt of a run (the published ones are one of them)
 *   assets/<owner>/<random>                         an uploaded asset
 */

/** Everything stored for an export (deleted with it). */
export const exportPrefix = (exportId: number) => `exports/${exportId}/`;

/** Everything stored for one run of an export, every attempt included. */
export const runPrefix = (run: { export_id: number; id: number }) => `${exportPrefix(run.export_id)}runs/${run.id}/`;

/** The files one attempt of a run writes; a retried run starts a fresh folder, so a half-written one is never read. */
export const attemptPrefix = (run: { export_id: number; id: number; attempts: number }) => `${runPrefix(run)}${run.attempts}/`;

/** Where an uploaded asset's bytes live; `name` is random, so two uploads never share a key. */
export const assetKey = (ownerId: number, name: string) => `assets/${ownerId}/${name}`;
