// Arguments of a client command: `--flag value`, `--flag=value`, boolean `--flag`, positionals, and `--` to end flags
// (so a message may start with a dash). Checked against the command's table: an unknown flag is a usage error.

export interface FlagSpec {
  /** Without the dashes: "phone" for --phone. */
  name: string;
  /** The value's placeholder in --help ("number"); absent for a boolean flag. */
  value?: string;
  help: string;
}

export interface ParsedArgs {
  flags: Record<string, string | true>;
  positionals: string[];
}

/** A mistake in how the command was typed: exit 2, like a bad server option. */
export class UsageError extends Error {}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], command: string): ParsedArgs {
  const flags: Record<string, string | true> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h') {
      flags.help = true;
      continue;
    }
    if (!arg.startsWith('--') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new UsageError(`Unknown option --${name} for "${command}" (see whatsapp-mcp-api ${command} --help)`);
    if (spec.value === undefined) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || (eq === -1 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value (--${name} <${spec.value}>)`);
    flags[name] = value;
  }
  return { flags, positionals };
}

/** The flag's text value, or undefined when it was not given. */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : undefined;
}
