/** Redis 7.0 functions: FUNCTION and FCALL commands, and their place in snapshots. */
import './commands.js';
import './persistence.js';
