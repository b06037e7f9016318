/**
 * Error reply accounting, as Redis 7.0's afterErrorReply and
 * incrCommandStatsOnError keep it: `total_error_replies`, the per-code
 * counts of INFO errorstats, and whether the command that just ran
 * answered with an error (its commandstats failed_calls / rejected_calls).
 *
 * Every error line goes through Reply.error, which reports here; so every
 * command family is counted without code of its own. The one exception is
 * an error a script passes on from redis.call (Redis's
 * ERR_REPLY_FLAG_NO_STATS_UPDATE): it was counted when the command inside
 * the script failed, so Reply.error is told not to count it again and only
 * the script command's failed_calls grows (see `uncounted`).
 */

const byCode = new Map<string, number>();

export const errorStats = {
  /** stat_total_error_replies */
  total: 0,
  /** stat_unexpected_error_replies: errors sent to a master, replica or AOF client (none exist here). */
  unexpected: 0,
  /** Errors sent without counting (a script passing on an error already counted): each makes its command failed. */
  uncounted: 0,
};

/**
 * Counts one error reply. `text` is the line without CRLF, either with its
 * leading '-' ("-CODE msg") or, as Redis's addReplyError gets it, without
 * a code ("msg", counted as ERR); `dashed` says which. The code is the first
 * word when a space comes within the first 32 bytes of "-CODE ...", else ERR
 * (Redis looks no further).
 */
export function countErrorReply(text: string, dashed: boolean): void {
  errorStats.total++;
  let code = 'ERR';
  if (dashed) {
    const sp = text.indexOf(' ');
    if (sp >= 0 && sp < 32) code = text.slice(1, sp);
  }
  byCode.set(code, (byCode.get(code) ?? 0) + 1);
}

/** Counts a reply written with the code in front and no dash, as Reply.error gets it ("CODE msg"). */
export function countCodedError(msg: string): void {
  errorStats.total++;
  const sp = msg.indexOf(' ');
  const code = sp >= 0 && sp < 31 ? msg.slice(0, sp) : 'ERR';
  byCode.set(code, (byCode.get(code) ?? 0) + 1);
}

/** INFO errorstats: `errorstat_<CODE>:count=N`, codes in byte order as Redis's rax walks them. */
export function errorStatsFields(): [string, string][] {
  const codes = [...byCode.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return codes.map((c) => [`errorstat_${c.replace(/[#:\r\n]/g, '_')}`, `count=${byCode.get(c)}`]);
}

/** CONFIG RESETSTAT. */
export function resetErrorStats(): void {
  byCode.clear();
  errorStats.total = 0;
  errorStats.unexpected = 0;
  prevTotal = 0;
}

/**
 * Redis's incrCommandStatsOnError: whether error replies were counted since
 * the last look, which every command execution takes at its start and at
 * its end. A command that ran commands of its own (EXEC, EVAL) thus only
 * sees the errors written after the last of them, not theirs.
 */
let prevTotal = 0;
export function errorsSinceLastLook(): boolean {
  const more = errorStats.total > prevTotal;
  prevTotal = errorStats.total;
  return more;
}
